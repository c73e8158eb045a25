"""Conformance fixtures that need code running during the call: log and progress notifications."""
import asyncio

from mxcp.runtime import mcp


async def test_tool_with_logging() -> str:
    await mcp.info("Tool execution started")
    await asyncio.sleep(0.05)
    await mcp.info("Tool processing data")
    await asyncio.sleep(0.05)
    await mcp.info("Tool execution completed")
    return "Tool with logging executed successfully"


async def test_tool_with_progress() -> str:
    for step in (0, 50, 100):
        await mcp.progress(step, 100)
        if step < 100:
            await asyncio.sleep(0.05)
    return "Tool with progress executed successfully"
