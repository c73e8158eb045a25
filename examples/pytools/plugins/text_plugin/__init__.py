"""A DuckDB function plugin: rot_<instance>(text) shifts lowercase letters."""
from datetime import date, timedelta

from mxcp.plugins import MXCPBasePlugin, udf


class MXCPPlugin(MXCPBasePlugin):
    def __init__(self, config, user_context=None):
        super().__init__(config, user_context)
        self.shift = int(config.get("rotation", "1"))

    @udf
    def rot(self, text: str) -> str:
        return "".join(chr((ord(c) - 97 + self.shift) % 26 + 97) if c.islower() else c for c in text)

    @udf
    def next_day(self, day: date) -> date:
        return day + timedelta(days=1)

    @udf
    def length(self, data: bytes) -> int:
        return len(data)

    def shutdown(self):
        print("text plugin shut down")
