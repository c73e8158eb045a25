"""Python tools: sync and async functions, the database, configuration, notifications."""
import asyncio
import os
from datetime import date
from decimal import Decimal

from mxcp.runtime import config, db, mcp, on_init, on_shutdown, plugins, reload_duckdb

EVENTS = []


@on_init
def create_tables():
    db.execute("CREATE OR REPLACE TABLE notes (id INTEGER, body VARCHAR, created DATE, amount DECIMAL(10, 2))")
    EVENTS.append("init")


@on_shutdown
def goodbye():
    print("shutdown hook ran")


def add(a: int, b: int) -> int:
    # print() goes to stderr: stdout carries mxcp's output (or the MCP stdio stream)
    print(f"adding {a} and {b}")
    return a + b


def noisy() -> str:
    """Writes to fd 1 below Python, as C extensions do; over MCP stdio that must not corrupt
    the protocol stream."""
    os.write(1, b"raw write to fd 1\n")
    return "ok"


async def countdown(start: int, delay_ms: int = 5) -> dict:
    await mcp.info(f"counting down from {start}")
    for i in range(start):
        await mcp.progress(i + 1, start, f"{start - i - 1} left")
        await asyncio.sleep(delay_ms / 1000)
    return {"done": True, "steps": start}


def add_note(note_id: int, body: str, created: date, amount: float = 12.5) -> dict:
    db.execute(
        "INSERT INTO notes VALUES ($id, $body, $created, $amount)",
        {"id": note_id, "body": body, "created": created, "amount": Decimal(str(amount))},
    )
    row = db.execute("SELECT * FROM notes WHERE id = $id", {"id": note_id})[0]
    return {
        "id": row["id"],
        "body": row["body"],
        "created": row["created"],
        "types": [type(row["created"]).__name__, type(row["amount"]).__name__],
        "amount": row["amount"],
    }


def whoami() -> dict:
    secret = config.get_secret("api_creds") or {}
    return {
        "user": secret.get("username"),
        "project": config.get_setting("project"),
        "missing": config.get_setting("no.such.key", "fallback"),
        "events": EVENTS,
        "plugins": plugins.list(),
    }


def check_positive(value: int) -> int:
    if value < 0:
        raise ValueError("negative not allowed")
    return value


def shifted(text: str) -> str:
    """Calls the plugin's DuckDB function from SQL."""
    return db.execute("SELECT rot_text($t) AS r", {"t": text})[0]["r"]


def plugin_types() -> dict:
    """Plugin functions over dates and blobs."""
    return db.execute("SELECT next_day_text(DATE '2024-02-28') AS d, length_text('\\xAA\\xBB'::BLOB) AS n")[0]


def reload_database() -> dict:
    """Closes and reopens the database around a payload; the init hook runs again."""
    ran = []
    reload_duckdb(lambda: ran.append("payload"), "example reload")
    count = db.execute("SELECT count(*) AS n FROM notes")[0]["n"]
    return {"ran": ran, "events": EVENTS, "notes": count}


SPIN = {"sync": False, "async": False}


def spin() -> str:
    """Never returns by itself: the server's call timeout must stop it."""
    try:
        n = 0
        while True:
            n += 1
    finally:
        SPIN["sync"] = True


async def spin_async() -> str:
    """An async function that never returns: a timeout cancels it."""
    try:
        while True:
            await asyncio.sleep(0.01)
    finally:
        SPIN["async"] = True


def spin_stopped(which: str) -> bool:
    import time

    for _ in range(50):
        if SPIN[which]:
            break
        time.sleep(0.01)
    return SPIN[which]
