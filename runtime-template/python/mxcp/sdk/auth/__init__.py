"""Who is calling: `get_user_context()` during a call."""
from mxcp.sdk.auth.context import UserContext, get_user_context

__all__ = ["UserContext", "get_user_context"]
