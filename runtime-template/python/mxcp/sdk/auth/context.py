"""The calling user, as policies see it (None when anonymous)."""
from mxcp import _host


def get_user_context():
    return _host.user()
