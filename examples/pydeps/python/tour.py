"""Uses the standard library's C extensions and two third-party wheels."""
import asyncio
import decimal
import json
import sqlite3
import ssl

import markupsafe
import six
from markupsafe import _speedups  # the C extension of the wheel


def stdlib_tour(text: str) -> dict:
    con = sqlite3.connect(":memory:")
    (n,) = con.execute("SELECT 6 * 7").fetchone()
    ctx = ssl.create_default_context()
    return {
        "escaped": str(markupsafe.escape(text)),
        "c_extension": _speedups.__file__.endswith(".so"),
        "six": six.__version__,
        "json_c": json.scanner.c_make_scanner is not None,
        "decimal": str(decimal.Decimal(1) / decimal.Decimal(8)),
        "sqlite": n,
        "ssl": ssl.OPENSSL_VERSION.split()[0],
        "ca_certs": ctx.cert_store_stats()["x509_ca"] > 0,
        "asyncio": asyncio.run(_gather()),
    }


async def _gather():
    return sum(await asyncio.gather(*(asyncio.sleep(0, i) for i in range(5))))
