"""DuckDB function plugins: subclass `MXCPBasePlugin`, decorate methods with `@udf`."""
from mxcp import _host


def udf(func):
    """Marks a plugin method as a DuckDB scalar function named `<method>_<plugin name>`."""
    func._mxcp_udf = True
    return func


class MXCPBasePlugin:
    def __init__(self, config=None):
        self.config = dict(config or {})

    def udfs(self):
        import inspect

        return [m for _, m in inspect.getmembers(self, inspect.ismethod) if getattr(m, "_mxcp_udf", False)]

    def shutdown(self):
        pass

    def get_user_context(self):
        return _host.user()

    def get_username(self):
        return (self.get_user_context() or {}).get("username")

    def get_user_email(self):
        return (self.get_user_context() or {}).get("email")

    def get_user_provider(self):
        return (self.get_user_context() or {}).get("provider")

    def get_user_external_token(self):
        return (self.get_user_context() or {}).get("external_token")

    def is_authenticated(self):
        return self.get_user_context() is not None
