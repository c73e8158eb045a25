#!/usr/bin/env python3
"""Hold one MCP session open with the official MCP Python SDK (PyPI `mcp`) until the server
sends `notifications/tools/list_changed`, then list the tools again; print what it saw as
JSON, for tests/serve_reload.rs.

  list_changed.py --url http://127.0.0.1:8000/mcp [--timeout 30]
  list_changed.py --stdio "mxcp serve --transport stdio"

Prints `ready` (a line of its own) once the session is up and the tools are listed.
"""
import argparse
import asyncio
import json
import sys

from mcp import Client

import _target


async def run(server, timeout):
    changed = asyncio.Event()
    seen = []

    async def on_message(message):
        root = getattr(message, "root", message)
        name = type(root).__name__
        seen.append(name)
        if name == "ToolListChangedNotification" or getattr(root, "method", None) == "notifications/tools/list_changed":
            changed.set()

    async with Client(server, mode="legacy", message_handler=on_message) as c:
        caps = c.server_capabilities
        before = [t.name for t in (await c.list_tools()).tools]
        print("ready", flush=True)
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        after = [t.name for t in (await c.list_tools()).tools]
        return {
            "before": before,
            "after": after,
            "notified": changed.is_set(),
            "notifications": seen,
            "tools_list_changed_capability": bool(caps and caps.tools and caps.tools.list_changed),
        }


def main():
    ap = argparse.ArgumentParser()
    _target.add_arguments(ap)
    ap.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()
    server = _target.server(a)
    print(json.dumps(asyncio.run(run(server, a.timeout))), flush=True)


if __name__ == "__main__":
    sys.exit(main())
