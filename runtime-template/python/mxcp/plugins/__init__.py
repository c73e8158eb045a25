"""DuckDB function plugins, with the reference's API: a plugin module's `MXCPPlugin` subclasses
`MXCPBasePlugin`; its `@udf` methods become DuckDB functions `<method>_<plugin name>`."""
from mxcp import _host

__all__ = ["MXCPBasePlugin", "udf", "on_shutdown"]


def udf(func):
    """Marks a plugin method as a DuckDB scalar function (bare `@udf`, as in the reference)."""
    func._is_udf = True
    return func


def on_shutdown(func):
    """Runs `func` when the plugins shut down: a method (first parameter `self`) on each
    instance of its class, after its `shutdown()`; a plain function once."""
    import inspect

    try:
        first = next(iter(inspect.signature(func).parameters), None)
    except (TypeError, ValueError):
        first = None
    if first == "self":
        func._mxcp_on_shutdown = True
    else:
        _host.current.plugin_shutdown_hooks.append(func)
    return func


def _field(user, name):
    # the reference's user context is a model with attributes; a dict is accepted as well
    if user is None:
        return None
    if isinstance(user, dict):
        return user.get(name)
    return getattr(user, name, None)


class MXCPBasePlugin:
    """Created once per `plugin:` entry of the site file as `MXCPPlugin(config)`, where `config`
    is the dict the user configuration gives it (`{}` without a `config:` key)."""

    def __init__(self, config, user_context=None):
        self._config = config
        self._user_context = user_context

    @property
    def user_context(self):
        return self._user_context

    def get_username(self):
        return _field(self._user_context, "username")

    def get_user_email(self):
        return _field(self._user_context, "email")

    def get_user_provider(self):
        return _field(self._user_context, "provider")

    def get_user_token(self):
        return _field(self._user_context, "external_token")

    def is_authenticated(self):
        return self._user_context is not None

    @classmethod
    def find_plugins(cls, module):
        """The plugin classes (subclasses of MXCPBasePlugin) in module `module`, in dir() order."""
        import importlib

        mod = importlib.import_module(module)
        found = []
        for name in dir(mod):
            obj = getattr(mod, name)
            if isinstance(obj, type) and issubclass(obj, MXCPBasePlugin) and obj is not MXCPBasePlugin:
                found.append(obj)
        return found

    def udfs(self):
        """The `@udf` methods: [{"name", "method", "args", "return_type"}] with DuckDB type names.
        A method without a return annotation is skipped (with a warning), as in the reference."""
        import inspect
        import typing

        out = []
        for name in dir(type(self)):
            if not getattr(inspect.getattr_static(type(self), name, None), "_is_udf", False):
                continue
            method = getattr(self, name)
            try:
                hints = typing.get_type_hints(method)
            except Exception:  # noqa: BLE001 - unresolvable names: use the raw annotations
                hints = dict(getattr(method, "__annotations__", {}))
            if "return" not in hints:
                _host._warn(f"skipping @udf {name} of {type(self).__name__}: no return type annotation")
                continue
            params = inspect.signature(method).parameters
            args = [self._get_duckdb_type(hints.get(p, typing.Any)) for p in params]
            out.append({"name": name, "method": method, "args": args,
                        "return_type": self._get_duckdb_type(hints["return"])})
        return out

    def _get_duckdb_type(self, python_type):
        """The DuckDB type of an annotation, named as the reference names it. Decimal maps to
        DOUBLE: mxcp's functions take no DECIMAL (nor INTERVAL, lists, maps, structs: those
        are named here and refused when the function is registered)."""
        import datetime
        import decimal
        import typing

        t = python_type
        if t is typing.Any:
            raise ValueError("Type 'Any' is not supported in UDF type annotations. Please specify a concrete type.")
        origin, args = typing.get_origin(t), typing.get_args(t)
        if origin is typing.Union and len(args) == 2 and type(None) in args:
            return self._get_duckdb_type(next(a for a in args if a is not type(None)))
        if origin is list and len(args) == 1:
            return f"{self._get_duckdb_type(args[0])}[]"
        if origin is dict and len(args) == 2:
            return f"MAP({self._get_duckdb_type(args[0])}, {self._get_duckdb_type(args[1])})"
        # datetime before date: a datetime is a date too
        table = ((str, "VARCHAR"), (bool, "BOOLEAN"), (int, "INTEGER"), (float, "DOUBLE"), (bytes, "BLOB"),
                 (decimal.Decimal, "DOUBLE"), (datetime.datetime, "TIMESTAMP"), (datetime.date, "DATE"),
                 (datetime.time, "TIME"), (datetime.timedelta, "INTERVAL"))
        for py, duck in table:
            if t is py:
                return duck
        fields = typing.get_type_hints(t) if isinstance(t, type) and getattr(t, "__annotations__", None) else None
        if fields:
            return "STRUCT(" + ", ".join(f"{k} {self._get_duckdb_type(v)}" for k, v in fields.items()) + ")"
        raise ValueError(f"Type '{t}' is not supported in UDF type annotations")

    def shutdown(self):
        """Called when the server stops; override to release resources."""
