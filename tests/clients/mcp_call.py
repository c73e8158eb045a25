#!/usr/bin/env python3
"""Talk to an MCP server with the official Python SDK (PyPI `mcp`): list the tools, call some,
and print what was observed (results, log messages, progress) as JSON.

  mcp_call.py --stdio "CMD ARGS" [--env K=V ...] [--cwd DIR]   # a child over stdio
  mcp_call.py --url http://127.0.0.1:8000/mcp                   # streamable HTTP
  --call NAME '{"arg": 1}'   (repeatable)    --sessions N   (N sessions at once, each making the calls)
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


async def session(server, calls):
    logs, out = [], {}

    async def on_log(params):
        p = dump(params)
        logs.append([p.get("level"), p.get("data")])

    async with Client(server, mode="legacy", logging_callback=on_log) as c:
        await c.set_logging_level("debug")
        out["tools"] = sorted(t.name for t in (await c.list_tools()).tools)
        out["calls"] = []
        for name, args in calls:
            progress = []

            async def on_progress(p, total, message, progress=progress):
                progress.append([p, total, message])

            r = dump(await c.call_tool(name, args, progress_callback=on_progress))
            out["calls"].append({
                "name": name,
                "texts": [x.get("text") for x in r.get("content", [])],
                "structured": r.get("structuredContent"),
                "isError": r.get("isError", False),
                "progress": progress,
            })
    out["logs"] = logs
    return out


async def run(server, calls, sessions):
    results = await asyncio.gather(*(session(server, calls) for _ in range(sessions)))
    return results[0] if sessions == 1 else results


def main():
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--stdio")
    g.add_argument("--url")
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--cwd")
    ap.add_argument("--call", nargs=2, action="append", default=[], metavar=("NAME", "JSON"))
    ap.add_argument("--sessions", type=int, default=1)
    a = ap.parse_args()
    calls = [(n, json.loads(j)) for n, j in a.call]
    if a.stdio:
        argv = shlex.split(a.stdio)
        env = dict(kv.split("=", 1) for kv in a.env) if a.env else None
        server = StdioServerParameters(command=argv[0], args=argv[1:], env=env, cwd=a.cwd)
    else:
        server = a.url
    print(json.dumps(asyncio.run(run(server, calls, a.sessions)), indent=1))


if __name__ == "__main__":
    sys.exit(main())
