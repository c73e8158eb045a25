"""How the mxcp executable drives project Python: loading modules, calling endpoint functions,
plugins and hooks, and checking endpoint signatures without running module code.

Called from Rust (src/python/); not an API for endpoint code.
"""
# Only cheap modules at the top: this runs at every start of a Python project. asyncio (with
# ssl and logging, ~50 ms), ast, inspect and the rest are imported where they are needed.
import contextvars
import importlib
import importlib.util
import os
import sys
import threading

import _mxcp_native as _native



class Generation:
    """One load of the project's Python: its modules, hooks and plugins. A reload of the
    server loads a new one beside the old, whose calls in flight keep their modules."""

    def __init__(self, share_plugins_of=None):
        self.hooks = {"init": [], "shutdown": []}
        self.modules = {}
        # plugins are shared with the generation before when they did not change (their
        # database functions stay registered); the shutdown of shared plugins is the
        # business of whichever generation owns them
        self.shared_from = share_plugins_of
        if share_plugins_of is None:
            self.plugins = {}
            self.plugin_shutdown_hooks = []  # functions decorated with mxcp.plugins.on_shutdown
        else:
            self.plugins = share_plugins_of.plugins
            self.plugin_shutdown_hooks = share_plugins_of.plugin_shutdown_hooks
        self.owns_plugins = share_plugins_of is None


# the generation that serves (and that decorators register into while it loads)
current = Generation()
# what Rust passes as the function name of a resource (see python::ENTRY_POINT)
ENTRY_POINT = "<main>"
_call = contextvars.ContextVar("mxcp_call", default=None)
_python_dir = None
_root = None
_plugin_dir = None
_loaded_once = False
_loop = None
_loop_lock = threading.Lock()


def _warn(message):
    _native.log_local("warning", message)


# ---- start-up -------------------------------------------------------------------------------

def setup(root, python_dir, plugin_dir, site_dirs):
    """Puts the project on sys.path (python/ and the root first, like the reference) and the
    project's dependency directories after it (their .pth files processed)."""
    global _python_dir, _root, _plugin_dir
    _python_dir = os.path.abspath(python_dir)
    _root = os.path.abspath(root)
    _plugin_dir = os.path.abspath(plugin_dir) if plugin_dir else None
    # stdout belongs to mxcp (a command's result, or the MCP stdio stream): prints go to stderr
    sys.stdout = sys.stderr
    _find_ca_certificates()
    for d in (plugin_dir, root, python_dir):
        if d and os.path.isdir(d) and d not in sys.path:
            sys.path.insert(0, d)
    for d in site_dirs:
        if os.path.isdir(d):
            import site

            site.addsitedir(d)


# CA bundles of common distributions: the embedded OpenSSL looks where the build machine keeps
# them, which is not where every distribution does
_CA_FILES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL, CentOS
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # RHEL 7+
    "/etc/ssl/ca-bundle.pem",  # openSUSE, SLES
    "/etc/ssl/cert.pem",  # Alpine, macOS
)


def _find_ca_certificates():
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return
    from mxcp import _build

    # the file the embedded OpenSSL reads by itself (recorded when the standard library was
    # packed: /etc/ssl/cert.pem). Without it a known bundle is preferred to OpenSSL's default
    # directory: RHEL's /etc/ssl/certs holds only bundles (no hashed names, which is all a
    # directory lookup finds), and a bundle is loaded up front, so a broken store shows early.
    if os.path.exists(_build.OPENSSL_CAFILE):
        return
    for f in _CA_FILES:
        if os.path.exists(f):
            os.environ["SSL_CERT_FILE"] = f
            return


def new_generation(share_plugins_of=None):
    """A generation to load into (it becomes `current` while it loads). After the first, the
    project's modules are imported afresh: dropped from sys.modules (the plugins' too, unless
    they are shared), so changed files take effect."""
    global current, _loaded_once
    previous = current
    gen = Generation(share_plugins_of)
    if _loaded_once:
        _forget_project_modules(keep_plugins=share_plugins_of is not None)
    _loaded_once = True
    current = gen
    return gen, previous


def _forget_project_modules(keep_plugins):
    deps = os.path.join(_root, ".mxcp") + os.sep if _root else None
    for name, mod in list(sys.modules.items()):
        f = getattr(mod, "__file__", None)
        if not f or not _root:
            continue
        f = os.path.abspath(f)
        if not f.startswith(_root + os.sep) or (deps and f.startswith(deps)):
            continue
        if keep_plugins and _plugin_dir and f.startswith(_plugin_dir + os.sep):
            continue
        del sys.modules[name]


def restore(previous):
    """Makes `previous` current again (a loaded generation waits for `activate`)."""
    global current
    current = previous


def activate(gen):
    """`gen` serves from now on; it takes over the plugins it shares."""
    global current
    current = gen
    if gen.shared_from is not None:
        gen.shared_from.owns_plugins = False
        gen.owns_plugins = True
        gen.shared_from = None


def load_all(gen):
    """Imports every module under python/ (not `__init__.py`, not `_*.py`) so their hooks register."""
    if not _python_dir or not os.path.isdir(_python_dir):
        return
    for dirpath, dirnames, filenames in os.walk(_python_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__pycache__")))
        for f in sorted(filenames):
            if f.endswith(".py") and not f.startswith("_"):
                path = os.path.join(dirpath, f)
                try:
                    module_for(gen, path)
                except BaseException as e:  # noqa: BLE001 - a broken module must not stop the others
                    _warn(f"cannot import {os.path.relpath(path, os.path.dirname(_python_dir))}: "
                          f"{type(e).__name__}: {e}")


def load_plugins(gen, defs):
    """`defs`: [(name, module, config dict)]. Instantiates each `module.MXCPPlugin` (errors
    worded as the reference words them) and returns its UDFs as (sql name, function,
    parameter type names, return type name)."""
    if not defs:
        return []
    from mxcp.plugins import MXCPBasePlugin

    udfs = []
    for name, module_name, cfg in defs:
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:  # other exceptions of the module's code keep their own message
            raise ImportError(f"Failed to import plugin module {module_name}: {e}") from e
        try:
            cls = module.MXCPPlugin
            if not (isinstance(cls, type) and issubclass(cls, MXCPBasePlugin)):
                raise TypeError(f"Plugin class in {module_name} must inherit from MXCPBasePlugin")
        except (AttributeError, TypeError) as e:
            raise TypeError(f"Module {module_name} must contain an MXCPPlugin class: {e}") from None
        # one positional argument: plugins written as `__init__(self, config)` work too
        instance = cls(cfg)
        gen.plugins[name] = instance
        for u in instance.udfs():
            args, ret = list(u["args"]), u["return_type"]
            udfs.append((f"{u['name']}_{name}", _udf_adapter(u["method"], args, ret), args, ret))
    return udfs


def _udf_adapter(method, arg_types, return_type):
    """Calls `method` with Python values for DuckDB's (dates and blobs arrive as text)."""
    import base64
    import datetime

    parse = {
        "DATE": datetime.date.fromisoformat,
        "TIME": datetime.time.fromisoformat,
        "TIMESTAMP": datetime.datetime.fromisoformat,
        "BLOB": base64.b64decode,
    }
    converters = [parse.get(t) for t in arg_types]

    def call(*args):
        values = [a if c is None or a is None else c(a) for a, c in zip(args, converters)]
        result = method(*values)
        if return_type == "BLOB" and isinstance(result, (bytes, bytearray)):
            return base64.b64encode(result).decode()
        return result

    return call


def run_hooks(gen, kind):
    for func in list(gen.hooks[kind]):
        try:
            result = func()
            if _is_awaitable(result):
                _run_async(result, None)
        except BaseException as e:  # noqa: BLE001 - hooks are not fatal
            _warn(f"{kind} hook {getattr(func, '__qualname__', func)} failed: {type(e).__name__}: {e}")


def shutdown(gen):
    run_hooks(gen, "shutdown")
    if not gen.owns_plugins:
        return
    gen.owns_plugins = False
    for name, p in list(gen.plugins.items()):
        marked = [m for m in dir(type(p)) if getattr(getattr(type(p), m, None), "_mxcp_on_shutdown", False)]
        for func in [p.shutdown] + [getattr(p, m) for m in marked]:
            try:
                func()
            except BaseException as e:  # noqa: BLE001
                _warn(f"plugin {name} shutdown failed: {e}")
    for func in gen.plugin_shutdown_hooks:
        try:
            func()
        except BaseException as e:  # noqa: BLE001
            _warn(f"plugin shutdown hook {getattr(func, '__qualname__', func)} failed: {e}")


def reload(payload_func, description):
    _native.reload_db(payload_func, description or "")


# ---- calls ----------------------------------------------------------------------------------

def module_for(gen, path):
    """The module of a source file: dotted name under python/, else a private name."""
    path = os.path.abspath(path)
    mod = gen.modules.get(path)
    if mod is not None:
        return mod
    if _python_dir and path.startswith(_python_dir + os.sep):
        rel = os.path.relpath(path, _python_dir)[:-3]
        name = rel.replace(os.sep, ".")
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        mod = importlib.import_module(name)
    else:
        stem = os.path.splitext(os.path.basename(path))[0]
        import hashlib

        name = f"_mxcp_endpoint_{stem}_{hashlib.sha256(path.encode()).hexdigest()[:8]}"
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        try:
            spec.loader.exec_module(mod)
        except BaseException:
            del sys.modules[name]
            raise
    gen.modules[path] = mod
    return mod


def entry_point(mod, path, shown_path):
    """A resource's function, resolved as the reference resolves it: `main`, else the one named
    like the file, else the first public callable in dir() order (the first two are called
    whatever they are)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    for name in ("main", stem):
        if hasattr(mod, name):
            return getattr(mod, name)
    for name in dir(mod):
        if not name.startswith("_") and callable(getattr(mod, name)):
            return getattr(mod, name)
    raise LookupError(f"No callable function found in {shown_path}")


def call(gen, path, func_name, kwargs, ctx, shown_path):
    mod = module_for(gen, path)
    if func_name == ENTRY_POINT:
        func = entry_point(mod, path, shown_path)
    else:
        func = getattr(mod, func_name, None)
        if func is None or not callable(func):
            raise LookupError(f"Function '{func_name}' not found in {shown_path}")
    # an async function returns its coroutine here; it runs on the event loop below
    token = _call.set(ctx)
    try:
        result = func(**kwargs)
    finally:
        _call.reset(token)
    if _is_awaitable(result):
        return _run_async(result, ctx)
    return result


def _is_awaitable(value):
    return hasattr(type(value), "__await__") and not isinstance(value, type)


def _event_loop():
    """One asyncio loop on a daemon thread runs every async endpoint."""
    global _loop
    with _loop_lock:
        if _loop is None:
            import asyncio

            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run():
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            threading.Thread(target=run, name="mxcp-asyncio", daemon=True).start()
            ready.wait()
            _loop = loop
        return _loop


async def _in_context(ctx, awaitable):
    _call.set(ctx)
    return await awaitable


def _run_async(awaitable, ctx):
    import asyncio
    import concurrent.futures

    fut = asyncio.run_coroutine_threadsafe(_in_context(ctx, awaitable), _event_loop())
    try:
        # waits with the GIL released, waking now and then so that a timeout raised in this
        # thread (see python::interrupt) is seen; it then cancels the coroutine
        while not fut.done():
            concurrent.futures.wait([fut], timeout=0.05)
    except BaseException:
        fut.cancel()
        raise
    return fut.result()


def log(level, message):
    ctx = _call.get()
    if ctx is not None:
        ctx.log(level, message)
    else:
        _native.log_local(level, message)


def progress(value, total, message):
    ctx = _call.get()
    if ctx is not None:
        ctx.progress(value, total, message)
    else:
        text = f"progress {value:g}" + (f"/{total:g}" if total is not None else "") + (f": {message}" if message else "")
        _native.log_local("info", text)


async def request(method, params):
    """A request to the MCP client of the running call (sampling, elicitation)."""
    import asyncio
    import json

    ctx = _call.get()
    if ctx is None:
        raise RuntimeError(f"{method} is only available during a call from an MCP client")
    loop = asyncio.get_running_loop()
    # the wait happens on an executor thread: the event loop keeps serving other calls
    text = await loop.run_in_executor(None, ctx.request, method, json.dumps(params))
    return json.loads(text)


def user():
    ctx = _call.get()
    return None if ctx is None else ctx.user


# ---- results --------------------------------------------------------------------------------

def plain(obj):
    """Objects the Rust converter does not know, as plain Python values (pandas, numpy, ...)."""
    t = type(obj)
    mod = t.__module__.split(".")[0]
    if mod == "pandas":
        if hasattr(obj, "to_dict") and hasattr(obj, "columns"):
            df = obj.astype(object).where(obj.notna(), None)
            return df.to_dict("records")
        if hasattr(obj, "tolist") and hasattr(obj, "index"):
            return obj.astype(object).where(obj.notna(), None).tolist()
        if t.__name__ in ("NaTType", "NAType"):
            return None
    if mod == "numpy":
        return obj.tolist()
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    import dataclasses
    import enum
    import uuid

    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if hasattr(obj, "__iter__") and not isinstance(obj, (str, bytes, dict)):
        return list(obj)
    return str(obj)
