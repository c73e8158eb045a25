"""Exercises every extension module of the static CPython (issue 15): run by its python3.11,
on the host or inside the bullseye root (scripts/bullseye-root.sh run ...). Exits non-zero
and names the failures; prints one line per check."""
import os
import platform
import sys

results = []


def check(name, fn):
    try:
        detail = fn()
        results.append((name, True, detail))
    except BaseException as e:  # noqa: BLE001 - report everything, keep going
        results.append((name, False, f"{type(e).__name__}: {e}"))


def t_ssl():
    import ssl
    ctx = ssl.create_default_context()
    return f"{ssl.OPENSSL_VERSION}, TLS context verify_mode={ctx.verify_mode.name}"


def t_hashlib():
    import hashlib
    return (f"sha3_256={hashlib.sha3_256(b'mxcp').hexdigest()[:16]} md5={hashlib.md5(b'').hexdigest()[:8]} "
            f"blake2b={hashlib.blake2b(b'x').hexdigest()[:8]} ripemd160={'ripemd160' in hashlib.algorithms_available}")


def t_sqlite():
    import sqlite3
    con = sqlite3.connect(":memory:")
    v = con.execute("select sqlite_version(), 6*7").fetchone()
    con.execute("create virtual table t using fts5(x)")
    return f"sqlite {v[0]}, 6*7={v[1]}, fts5 ok"


def t_ctypes():
    import ctypes
    libc = ctypes.CDLL(None)
    libc.strlen.restype = ctypes.c_size_t
    libc.gnu_get_libc_version.restype = ctypes.c_char_p
    cb = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x * 2)
    return (f"strlen('mxcp')={libc.strlen(b'mxcp')}, callback(21)={cb(21)}, "
            f"gnu_get_libc_version()={libc.gnu_get_libc_version().decode()}")


def t_roundtrips():
    import bz2
    import lzma
    import zlib
    data = b"mxcp " * 1000
    assert lzma.decompress(lzma.compress(data)) == data
    assert bz2.decompress(bz2.compress(data)) == data
    assert zlib.decompress(zlib.compress(data)) == data
    return f"lzma/bz2/zlib ok (zlib {zlib.ZLIB_RUNTIME_VERSION})"


def t_uuid():
    import _uuid  # noqa: F401 - the C module, not only the pure-Python fallback
    import uuid
    return f"{uuid.uuid4()} (uuid1 safe={uuid.uuid1().is_safe.name})"


def t_decimal():
    import _decimal  # noqa: F401
    import decimal
    return str(decimal.Decimal(1) / decimal.Decimal(7))


def t_math():
    import cmath
    import math
    import statistics
    return f"cmath.sqrt(-1)={cmath.sqrt(-1)}, hypot(3,4)={math.hypot(3, 4)}, fmean={statistics.fmean([1, 2])}"


def t_multiprocessing():
    import _multiprocessing
    import multiprocessing
    from multiprocessing import shared_memory
    s = multiprocessing.Semaphore(2)
    s.acquire(); s.release()
    shm = shared_memory.SharedMemory(create=True, size=16)
    shm.close(); shm.unlink()
    return f"Semaphore + SharedMemory ok ({_multiprocessing.__name__})"


def t_subprocess():
    import subprocess
    r = subprocess.run(["/bin/true"])
    out = subprocess.run(["/bin/echo", "hi"], capture_output=True).stdout
    return f"/bin/true rc={r.returncode}, echo -> {out!r}"


def t_misc():
    import array, asyncio, binascii, datetime, json, select, socket  # noqa: E401
    import _asyncio, _datetime, _json, _socket, pyexpat, unicodedata, _elementtree  # noqa: E401,F401
    a, b = socket.socketpair()
    a.send(b"x")
    assert b.recv(1) == b"x"
    asyncio.run(asyncio.sleep(0))
    return (f"json={json.dumps({'a': 1})} array={array.array('i', [1]).tolist()} "
            f"hex={binascii.hexlify(b'z').decode()} select.epoll={hasattr(select, 'epoll')} "
            f"socketpair ok, asyncio ok, {datetime.date(2026, 12, 1).isoformat()}")


print(f"python {sys.version}")
print(f"platform {platform.platform()} libc={platform.libc_ver()}")
print(f"prefix {sys.prefix}, {len(sys.builtin_module_names)} built-in modules")
for name, fn in [("ssl", t_ssl), ("hashlib", t_hashlib), ("sqlite3", t_sqlite), ("ctypes", t_ctypes),
                 ("lzma/bz2/zlib", t_roundtrips), ("uuid", t_uuid), ("decimal", t_decimal),
                 ("math/cmath", t_math), ("multiprocessing", t_multiprocessing),
                 ("subprocess", t_subprocess), ("misc", t_misc)]:
    check(name, fn)
dynload = os.path.join(sys.prefix, "lib", "python3.11", "lib-dynload")
shared = sorted(f for f in os.listdir(dynload) if f.endswith(".so")) if os.path.isdir(dynload) else []
results.append(("no lib-dynload .so", not shared,
                f"{len(shared)}: {' '.join(shared[:4])} ..." if shared else "none"))
for name, ok, detail in results:
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
failed = sum(not ok for _, ok, _ in results)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
