#!/usr/bin/env python3
"""Exercise an mxcp server with the official MCP Python SDK (PyPI `mcp`) and print what it
observed as JSON, for tests/mcp_python_sdk.rs to assert on.

  sdk_check.py --stdio "mxcp serve --transport stdio"     # child process over stdio
  sdk_check.py --url http://127.0.0.1:8000/mcp             # streamable HTTP
  --mode legacy (initialize, <= 2025-11-25) | auto (server/discover, 2026-07-28)
"""
import argparse
import asyncio
import json
import sys

from mcp import Client

import _target


def dump(o):
    return o.model_dump(mode="json", by_alias=True, exclude_none=True) if hasattr(o, "model_dump") else o


async def run(server, mode):
    out = {}
    logs, progress = [], []

    async def on_log(params):
        logs.append(dump(params))

    async def on_progress(p, total, message):
        progress.append([p, total])

    async with Client(server, mode=mode, logging_callback=on_log) as c:
        out["protocol_version"] = str(c.protocol_version)
        tools = (await c.list_tools()).tools
        out["tools"] = [t.name for t in tools]
        out["count_items_input"] = dump(tools[[t.name for t in tools].index("count_items")])["inputSchema"]
        out["get_item_output"] = dump(tools[[t.name for t in tools].index("get_item")]).get("outputSchema")

        async def call(name, args, **kw):
            r = dump(await c.call_tool(name, args, **kw))
            return {"texts": [x.get("text") for x in r.get("content", [])], "structured": r.get("structuredContent"), "isError": r.get("isError", False)}

        out["get_item"] = await call("get_item", {"item_id": 1})
        out["count_items"] = await call("count_items", {"category": "veg"}, progress_callback=on_progress)
        out["list_items"] = await call("list_items", {})
        out["bad_argument"] = await call("get_item", {"item_id": 0})
        out["unknown_tool"] = await call("nope", {})
        out["resources"] = [r["uri"] for r in dump(await c.list_resources())["resources"]]
        out["templates"] = [r["uriTemplate"] for r in dump(await c.list_resource_templates())["resourceTemplates"]]
        out["read_template"] = dump(await c.read_resource("inventory://items/5"))["contents"]
        out["read_static"] = dump(await c.read_resource("inventory://categories"))["contents"]
        try:
            await c.read_resource("inventory://nothing")
            out["read_unknown"] = "no error"
        except Exception as e:  # noqa: BLE001 - the SDK raises its MCPError
            out["read_unknown"] = type(e).__name__ + ": " + str(e)
        out["prompts"] = [p["name"] for p in dump(await c.list_prompts())["prompts"]]
        got = dump(await c.get_prompt("restock", {"category": "veg"}))
        out["prompt"] = [[m["role"], m["content"]["text"]] for m in got["messages"]]
        if mode == "legacy":
            await c.set_logging_level("debug")
            out["after_log_level"] = await call("get_item", {"item_id": 0})
    out["progress"] = progress
    out["logs"] = [l.get("level") for l in logs]
    return out


def main():
    ap = argparse.ArgumentParser()
    _target.add_arguments(ap)
    ap.add_argument("--mode", default="legacy")
    a = ap.parse_args()
    server = _target.server(a)
    print(json.dumps(asyncio.run(run(server, a.mode)), indent=1))


if __name__ == "__main__":
    sys.exit(main())
