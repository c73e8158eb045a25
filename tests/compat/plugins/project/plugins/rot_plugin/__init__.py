"""A rotation cipher exposed as DuckDB functions."""
from mxcp.plugins import MXCPBasePlugin, udf


class MXCPPlugin(MXCPBasePlugin):
    def __init__(self, config, user_context=None):
        super().__init__(config, user_context)
        self.shift = int(config.get("shift", "1"))
        self.label = config.get("label", "")

    def _rotate(self, text: str, by: int) -> str:
        out = []
        for ch in text:
            if ch.isalpha():
                base = ord("a") if ch.islower() else ord("A")
                out.append(chr((ord(ch) - base + by) % 26 + base))
            else:
                out.append(ch)
        return "".join(out)

    @udf
    def encode(self, text: str) -> str:
        return self._rotate(text, self.shift)

    @udf
    def decode(self, text: str) -> str:
        return self._rotate(text, -self.shift)

    @udf
    def describe(self) -> str:
        return f"{self.label}:{self.shift}:{self.get_username()}"

    @udf
    def double_it(self, n: int) -> int:
        return n * 2
