#!/usr/bin/env python3
"""Make tool calls, resource reads and prompt renderings with the official MCP Python SDK
(PyPI `mcp`), in order, in one session, and print what each gave as JSON (for the audit tests,
which then read the records the server wrote).

  audit_calls.py --stdio "CMD ARGS" | --url http://127.0.0.1:8000/mcp
      --step tool NAME '{"arg": 1}'   --step read URI '{}'   --step prompt NAME '{"who": "x"}'   (repeatable)
"""
import argparse
import asyncio
import json
import shlex
import sys

from mcp import Client
from mcp.client.stdio import StdioServerParameters


def dump(o):
    return o.model_dump(mode="json", by_alias=True, exclude_none=True) if hasattr(o, "model_dump") else o


async def run(server, steps):
    out = []
    async with Client(server, mode="legacy") as c:
        for kind, name, args in steps:
            try:
                if kind == "tool":
                    r = dump(await c.call_tool(name, args))
                    out.append({"texts": [x.get("text") for x in r.get("content", [])], "isError": r.get("isError", False)})
                elif kind == "read":
                    r = dump(await c.read_resource(name))
                    out.append({"texts": [x.get("text") for x in r["contents"]], "isError": False})
                else:
                    r = dump(await c.get_prompt(name, args))
                    out.append({"texts": [m["content"]["text"] for m in r["messages"]], "isError": False})
            except Exception as e:  # noqa: BLE001 - the SDK raises its MCPError for protocol errors
                out.append({"error": str(e), "isError": True})
    return out


def main():
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--stdio")
    g.add_argument("--url")
    ap.add_argument("--step", nargs=3, action="append", default=[], metavar=("KIND", "NAME", "JSON"))
    a = ap.parse_args()
    steps = [(k, n, json.loads(j)) for k, n, j in a.step]
    if a.stdio:
        argv = shlex.split(a.stdio)
        server = StdioServerParameters(command=argv[0], args=argv[1:])
    else:
        server = a.url
    print(json.dumps(asyncio.run(run(server, steps)), indent=1))


if __name__ == "__main__":
    sys.exit(main())
