"""The official MCP Python SDK's OAuth client against `mxcp serve` protected by a real
OpenID provider: discovery (PRM, then the authorization server's metadata), dynamic client
registration, authorization code + PKCE with the RFC 8707 resource, then tool calls.

  oauth_flow.py --url http://127.0.0.1:P/mcp --issuer http://127.0.0.1:Q --login alice --tools a,b
  oauth_flow.py --url ... --issuer ... --anonymous          # no credentials at all
  oauth_flow.py --url ... --issuer ... --foreign-token      # a valid token for another server

Prints one JSON object: the calls' results, or the error a refused client got.
"""
import argparse
import asyncio
import json
import sys
from urllib.parse import parse_qs, urlparse

import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

REDIRECT = "http://127.0.0.1:1/callback"


class MemoryStorage:
    def __init__(self):
        self.tokens = None
        self.client = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, info):
        self.client = info


def provider(url, login, seen):
    """The OAuth provider; the "browser" follows the OP's redirects (it logs in by login_hint)."""
    landed = {}

    async def redirect_handler(authorization_url):
        seen["authorization_url"] = authorization_url
        next_url = authorization_url + "&login_hint=" + login
        async with httpx2.AsyncClient(follow_redirects=False) as http:
            for _ in range(10):
                r = await http.get(next_url)
                location = r.headers.get("location")
                if location is None:
                    raise RuntimeError(f"the OP stopped at {r.status_code}: {r.text[:200]}")
                if location.startswith(REDIRECT):
                    landed.update({k: v[0] for k, v in parse_qs(urlparse(location).query).items()})
                    return
                next_url = str(httpx2.URL(next_url).join(location))
        raise RuntimeError("too many redirects")

    async def callback_handler():
        return AuthorizationCodeResult(code=landed["code"], state=landed.get("state"), iss=landed.get("iss"))

    metadata = OAuthClientMetadata(
        client_name="mxcp-test-sdk",
        redirect_uris=[REDIRECT],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
    )
    return OAuthClientProvider(url, metadata, MemoryStorage(), redirect_handler, callback_handler)


def dump(o):
    return o.model_dump(mode="json", by_alias=True, exclude_none=True) if hasattr(o, "model_dump") else o


async def calls(http, url, tools):
    out = {}
    async with Client(streamable_http_client(url, http_client=http), mode="legacy") as c:
        out["tools"] = sorted(t.name for t in (await c.list_tools()).tools)
        for name in tools:
            r = dump(await c.call_tool(name, {}))
            out[name] = {
                "structured": r.get("structuredContent"),
                "texts": [x.get("text") for x in r.get("content", [])],
                "isError": r.get("isError", False),
            }
    return out


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--login", default="alice")
    ap.add_argument("--tools", default="")
    ap.add_argument("--anonymous", action="store_true")
    ap.add_argument("--foreign-token", action="store_true")
    a = ap.parse_args()
    tools = [t for t in a.tools.split(",") if t]
    seen = {}
    headers = {"x-trace": "trace-1"}
    if a.anonymous:
        http = httpx2.AsyncClient(headers=headers)
    elif a.foreign_token:
        async with httpx2.AsyncClient() as op:
            claims = {"sub": "alice", "aud": "http://127.0.0.1:9/mcp", "scope": "openid mcp:tools"}
            token = (await op.post(a.issuer + "/test/mint", json={"claims": claims, "key": "op"})).json()["token"]
        http = httpx2.AsyncClient(headers={**headers, "Authorization": f"Bearer {token}"})
    else:
        http = httpx2.AsyncClient(headers=headers, auth=provider(a.url, a.login, seen))
    try:
        async with http:
            out = await calls(http, a.url, tools)
    except BaseException as e:  # noqa: BLE001 - a refused client is a result here
        while isinstance(e, BaseExceptionGroup) and e.exceptions:
            e = e.exceptions[0]
        out = {"refused": f"{type(e).__name__}: {e}"}
        if a.anonymous or a.foreign_token:
            # what the server answered, at the HTTP level
            init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
            async with httpx2.AsyncClient(headers=http.headers) as probe:
                r = await probe.post(a.url, json=init, headers={"accept": "application/json, text/event-stream"})
            out["status"] = r.status_code
            out["www_authenticate"] = r.headers.get("www-authenticate")
    if "authorization_url" in seen:
        q = parse_qs(urlparse(seen["authorization_url"]).query)
        out["authorization_request"] = {k: q[k][0] for k in ("resource", "scope", "code_challenge_method") if k in q}
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
