"""The calling user (None when anonymous), as the reference's `UserContext`: attributes
(`user.email`), and mapping access (`user["email"]`) for code written against a dict."""
from mxcp import _host

_FIELDS = ("provider", "user_id", "username", "email", "name", "avatar_url", "raw_profile",
           "external_token", "role", "permissions", "capabilities", "scopes")


class UserContext:
    __slots__ = ("_data",)

    def __init__(self, data):
        base = {k: None for k in _FIELDS}
        base.update(raw_profile={}, permissions=[], capabilities=[], scopes=[])
        base.update(data or {})
        object.__setattr__(self, "_data", base)

    def __getattr__(self, key):
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key, value):
        raise AttributeError("UserContext is read-only")

    def __getitem__(self, key):
        return self._data[key]

    def __contains__(self, key):
        return key in self._data

    def __iter__(self):
        return iter(self._data)

    def get(self, key, default=None):
        return self._data.get(key, default)

    def keys(self):
        return self._data.keys()

    def items(self):
        return self._data.items()

    def model_dump(self):
        return dict(self._data)

    def __repr__(self):
        shown = {k: v for k, v in self._data.items() if k != "external_token"}
        return f"UserContext({shown!r})"


def get_user_context():
    data = _host.user()
    return None if data is None else UserContext(data)
