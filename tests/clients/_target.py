"""The server an SDK test client talks to: `--stdio "COMMAND"` (a child process) or `--url URL`
(streamable HTTP), as the MCP Python SDK's `Client` takes it."""
import shlex

from mcp.client.stdio import StdioServerParameters


def add_arguments(ap):
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--stdio")
    g.add_argument("--url")


def server(a):
    if a.stdio:
        argv = shlex.split(a.stdio)
        return StdioServerParameters(command=argv[0], args=argv[1:])
    return a.url
