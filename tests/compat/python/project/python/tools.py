import asyncio
import datetime
import decimal

from mxcp.runtime import config, db


def add(a: int, b: float) -> dict:
    return {"sum": a + b, "types": [type(a).__name__, type(b).__name__]}


async def slow_echo(text: str, delay_ms: int = 1) -> str:
    await asyncio.sleep(delay_ms / 1000)
    return text[::-1]


def notes(min_id: int = 0) -> list:
    return db.execute("SELECT id, body FROM notes WHERE id >= $m ORDER BY id", {"m": min_id})


def note_dates() -> list:
    return db.execute("SELECT id, created FROM notes ORDER BY id")


def secret() -> dict:
    return {"svc": config.get_secret("svc"), "none": config.get_secret("nope")}


def fail(n: int) -> int:
    if n < 0:
        raise ValueError("negative not allowed")
    return n


def values() -> dict:
    return {
        "date": datetime.date(2024, 1, 2),
        "dt": datetime.datetime(2024, 1, 2, 3, 4, 5),
        "dec": decimal.Decimal("1.50"),
        "tuple": (1, 2),
        "none": None,
        "nested": {"l": [1, "a", None, True]},
    }


def one_row() -> list:
    return [{"a": 1}]


def typed_params(d: datetime.date, tags: list, opts: dict) -> dict:
    return {"d": [type(d).__name__, str(d)], "tags": tags, "opts": opts}
