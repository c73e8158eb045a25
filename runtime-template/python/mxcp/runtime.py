"""The API that Python endpoints use: `from mxcp.runtime import db, config, plugins, mcp, ...`.

The work is done by the mxcp executable (`_mxcp_native`, written in Rust): queries run on the
same DuckDB database and connection pool as SQL endpoints.
"""
import sys

import _mxcp_native as _native

from mxcp import _host

__all__ = ["db", "config", "plugins", "mcp", "content", "on_init", "on_shutdown", "reload_duckdb"]


class _Db:
    def execute(self, sql, params=None):
        """Runs `sql` with `$name` parameters from `params`; returns a list of row dicts."""
        if params is not None and not isinstance(params, dict):
            raise TypeError("db.execute params must be a dict of $name values")
        return _native.db_execute(sql, params or {})

    def __repr__(self):
        return "<mxcp.runtime.db>"


class _Config:
    def get_secret(self, name):
        """The `parameters` of the active profile's secret `name`, or None."""
        return _native.get_secret(name)

    def get_setting(self, key, default=None):
        """A site configuration value by dotted path (`"profiles.default.duckdb.path"`)."""
        value = _native.site_config()
        for part in key.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            else:
                return default
        return value

    @property
    def user_config(self):
        return _native.user_config()

    @property
    def site_config(self):
        return _native.site_config()


class _Plugins:
    def get(self, name):
        return _host.current.plugins.get(name)

    def list(self):
        return list(_host.current.plugins)


class _Done:
    """What `mcp.info(...)` returns: the message is already sent, and awaiting it is a no-op,
    so both `await mcp.info(x)` (the documented form) and `mcp.info(x)` work."""

    def __await__(self):
        return iter(())


class _Mcp:
    def _log(self, level, message):
        _host.log(level, str(message))
        return _Done()

    def debug(self, message):
        return self._log("debug", message)

    def info(self, message):
        return self._log("info", message)

    def warning(self, message):
        return self._log("warning", message)

    def error(self, message):
        return self._log("error", message)

    def progress(self, progress, total=None, message=None):
        _host.progress(float(progress), None if total is None else float(total), message)
        return _Done()

    async def sample(self, prompt=None, *, messages=None, max_tokens=100, system_prompt=None, **params):
        """Asks the client's LLM (`sampling/createMessage`); returns the client's result dict
        (`role`, `content`, `model`, ...)."""
        if messages is None:
            messages = [{"role": "user", "content": {"type": "text", "text": str(prompt)}}]
        params.update({"messages": messages, "maxTokens": max_tokens})
        if system_prompt is not None:
            params["systemPrompt"] = system_prompt
        return await _host.request("sampling/createMessage", params)

    async def elicit(self, message, schema):
        """Asks the user for input (`elicitation/create`) shaped by the JSON schema `schema`;
        returns the client's result dict (`action`, `content`)."""
        return await _host.request("elicitation/create", {"message": message, "requestedSchema": schema})


class _Content:
    """Tool results as MCP content items instead of JSON text: return one of these, or a list
    of them, from a Python tool (declare no `return` type)."""

    @staticmethod
    def _item(item):
        return {"$mxcp_content": item}

    def text(self, text):
        return self._item({"type": "text", "text": str(text)})

    def image(self, data, mime_type="image/png"):
        return self._item({"type": "image", "data": _b64(data), "mimeType": mime_type})

    def audio(self, data, mime_type="audio/wav"):
        return self._item({"type": "audio", "data": _b64(data), "mimeType": mime_type})

    def resource(self, uri, text=None, mime_type="text/plain", blob=None):
        res = {"uri": uri, "mimeType": mime_type}
        if blob is not None:
            res["blob"] = _b64(blob)
        else:
            res["text"] = "" if text is None else str(text)
        return self._item({"type": "resource", "resource": res})


def _b64(data):
    import base64

    return base64.b64encode(data).decode() if isinstance(data, (bytes, bytearray)) else str(data)


db = _Db()
config = _Config()
plugins = _Plugins()
mcp = _Mcp()
content = _Content()


def on_init(func):
    """Runs `func()` once the runtime is up (exceptions are logged, not fatal)."""
    _host.current.hooks["init"].append(func)
    return func


def on_shutdown(func):
    """Runs `func()` when the server stops or before the database is reloaded."""
    _host.current.hooks["shutdown"].append(func)
    return func


def reload_duckdb(payload_func=None, description=""):
    """Drains running queries, runs the shutdown hooks, closes the database, runs
    `payload_func()` (which may rewrite the database file), reopens it and runs the init hooks."""
    _host.reload(payload_func, description)
