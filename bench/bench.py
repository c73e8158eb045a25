#!/usr/bin/env python3
"""mxcp benchmarks (a measurement, not a test): prints figures and, when the Python reference
is installed, the same figures for it and the ratios, all measured in one run on one machine.

Reference install (optional):
    python3 -m venv ~/.cache/mxcp-ref
    ~/.cache/mxcp-ref/bin/pip install "mxcp==0.12.3" "dbt-core>=1.9,<1.11"

Usage: bench.py --mxcp PATH [--ref PATH] [--runs N] [--calls N] [--ref-calls N] [--http-seconds S]
Measures, on bench/project (a one-row SQL tool):
  startup   spawn -> first tools/list reply over stdio (median of --runs)
  calls     N sequential tools/call over stdio: median and p99
  http      8 concurrent clients over streamable HTTP for S seconds: calls/s and median
  rss       peak RSS of the server (VmHWM) after the stdio calls
  validate  `mxcp validate` wall time (median of --runs)
on bench/pyproject (a trivial Python tool):
  py calls  N sequential tools/call over stdio: median and p99
and, for mxcp only, `mxcp build` of examples/inventory (SQL only), from a stripped copy of
the given binary (as release builds are):
  build     build time; size of the executable
  starts    spawn -> first tools/list of the built server: first start (empty cache) and warm
and the audit log (mxcp only):
  audit     tools/call median over stdio with auditing off and on (MXCP_AUDIT_ENABLED): two
            servers side by side, calls alternating between them, and the difference
  log       `mxcp log --since 1d` over --log-records records (default 1,000,000, in files
            rotated at 50 MB, written over the last 12 hours, each file's time its last
            record's, as a server leaves them); and a filter no record matches (every file read)
and behind a load balancer (mxcp only; Debian's HAProxy, skipped when it is not installed):
  replicas  16 clients for --http-seconds through HAProxy to 1, then 3, `serve --stateless`
            replicas: calls/s (bench/replicas.py)
and telemetry (mxcp only; `--only telemetry` measures just this):
  telemetry tools/call median over stdio with telemetry off and on, exporting spans and
            metrics to a local OTLP/HTTP receiver: side by side as for the audit log
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import replicas

HERE = os.path.dirname(os.path.abspath(__file__))
INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}
CALL = {"name": "hello_world", "arguments": {"name": "World"}}
CALL_PY = {"name": "py_hello", "arguments": {"name": "World"}}


class Stdio:
    def __init__(self, cmd, cwd, env):
        self.p = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        self.next_id = 1

    def request(self, method, params=None):
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.next_id += 1
        self.p.stdin.write((json.dumps(msg) + "\n").encode())
        self.p.stdin.flush()
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError(f"server closed stdout during {method}")
            reply = json.loads(line)
            if reply.get("id") == msg["id"]:
                if "error" in reply or reply.get("result", {}).get("isError"):
                    raise RuntimeError(f"{method} failed: {reply}")
                return reply

    def handshake(self):
        self.p.stdin.write((json.dumps(INIT) + "\n").encode())
        self.p.stdin.flush()
        json.loads(self.p.stdout.readline())
        self.p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        self.p.stdin.flush()

    def peak_rss_mb(self):
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def close(self):
        self.p.stdin.close()
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def startup_ms(cmd, cwd, env, runs):
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        s = Stdio(cmd, cwd, env)
        s.handshake()
        s.request("tools/list")
        out.append((time.perf_counter() - t) * 1000)
        s.close()
    return statistics.median(out)


def calls(cmd, cwd, env, n, call=CALL):
    s = Stdio(cmd, cwd, env)
    s.handshake()
    for _ in range(20):
        s.request("tools/call", call)
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        s.request("tools/call", call)
        lat.append((time.perf_counter() - t) * 1000)
    rss = s.peak_rss_mb()
    s.close()
    return statistics.median(lat), pct(lat, 99), rss


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_post(conn, body, sid=None):
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if sid:
        headers["Mcp-Session-Id"] = sid
    conn.request("POST", "/mcp", json.dumps(body), headers)
    r = conn.getresponse()
    data = r.read().decode()
    return r, data


def http_client(port, deadline, results, errors):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        r, _ = http_post(conn, INIT)
        sid = r.getheader("mcp-session-id")
        http_post(conn, {"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)
        i = 1
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            r, data = http_post(conn, {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": CALL}, sid)
            if r.status != 200 or "Hello, World!" not in data:
                raise RuntimeError(f"bad reply {r.status}: {data[:200]}")
            results.append((time.perf_counter() - t) * 1000)
            i += 1
    except Exception as e:  # noqa: BLE001 - reported as a failed measurement
        errors.append(str(e))


def http_throughput(cmd, cwd, env, seconds, clients=8):
    port = free_port()
    p = subprocess.Popen(cmd + ["serve", "--transport", "streamable-http", "--port", str(port)], cwd=cwd, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        results, errors = [], []
        deadline = time.perf_counter() + seconds
        threads = [threading.Thread(target=http_client, args=(port, deadline, results, errors)) for _ in range(clients)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        if errors:
            return f"failed: {errors[0]}", None
        return len(results) / elapsed, statistics.median(results)
    finally:
        p.terminate()
        p.wait(timeout=10)


def validate_ms(cmd, cwd, env, runs):
    subprocess.run(cmd + ["validate"], cwd=cwd, env=env, stdout=subprocess.DEVNULL, check=True)
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd + ["validate"], cwd=cwd, env=env, stdout=subprocess.DEVNULL, check=True)
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)


def measure(name, exe, args, work):
    project = os.path.join(work, name)
    shutil.copytree(os.path.join(HERE, "project"), project)
    env = dict(os.environ, MXCP_DISABLE_ANALYTICS="1")
    env.pop("MXCP_CONFIG", None)
    cmd = [exe]
    serve = cmd + ["serve", "--transport", "stdio"]
    n = args.calls if name == "mxcp" else args.ref_calls
    print(f"measuring {name} ...", file=sys.stderr)
    r = {"startup": startup_ms(serve, project, env, args.runs)}
    r["median"], r["p99"], r["rss"] = calls(serve, project, env, n)
    r["http_rps"], r["http_median"] = http_throughput(cmd, project, env, args.http_seconds)
    r["validate"] = validate_ms(cmd, project, env, args.runs)
    r["calls"] = n
    pyproject = os.path.join(work, name + "-py")
    shutil.copytree(os.path.join(HERE, "pyproject"), pyproject)
    r["py_median"], r["py_p99"], _ = calls(serve, pyproject, env, n, CALL_PY)
    r["py_run"] = run_ms(cmd + ["run", "tool", "py_hello", "--param", "name=World"], pyproject, env, args.runs)
    return r


def run_ms(cmd, cwd, env, runs):
    """Wall time of a whole `mxcp run` (process start, project load, Python start, the call)."""
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)


def starts_ms(exe, cwd, env, runs, fresh_cache):
    out = []
    for i in range(runs):
        e = dict(env)
        if fresh_cache:
            e["MXCP_CACHE_DIR"] = tempfile.mkdtemp(prefix="mxcp-bench-cache-")
        t = time.perf_counter()
        s = Stdio([exe], cwd, e)
        s.handshake()
        s.request("tools/list")
        out.append((time.perf_counter() - t) * 1000)
        s.close()
        if fresh_cache:
            shutil.rmtree(e["MXCP_CACHE_DIR"], ignore_errors=True)
    return statistics.median(out)


def measure_built(mxcp, args, work):
    """`mxcp build` of examples/inventory with a stripped copy of mxcp, and the built server's starts."""
    print("measuring mxcp build ...", file=sys.stderr)
    base = os.path.join(work, "mxcp-stripped")
    subprocess.run(["strip", "-o", base, mxcp], check=True)
    project = os.path.join(work, "inventory")
    shutil.copytree(os.path.join(HERE, "..", "examples", "inventory"), project)
    out = os.path.join(work, "server")
    env = dict(os.environ, MXCP_CACHE_DIR=os.path.join(work, "warm-cache"), MXCP_DATA_DIR=os.path.join(work, "data"))
    t = time.perf_counter()
    subprocess.run([base, "build", "-o", out], cwd=project, env=env, check=True, stderr=subprocess.DEVNULL)
    r = {"build": (time.perf_counter() - t) * 1000, "size": os.path.getsize(out) / 1e6}
    r["first"] = starts_ms(out, work, env, args.runs, True)
    starts_ms(out, work, env, 1, False)  # fill the warm cache
    r["warm"] = starts_ms(out, work, env, args.runs, False)
    # a Python project: the interpreter starts with the server (its hooks run at start-up)
    pyproject = os.path.join(work, "pybuilt")
    shutil.copytree(os.path.join(HERE, "pyproject"), pyproject)
    pyout = os.path.join(work, "pyserver")
    subprocess.run([base, "build", "-o", pyout], cwd=pyproject, env=env, check=True, stderr=subprocess.DEVNULL)
    r["py_first"] = starts_ms(pyout, work, env, args.runs, True)
    starts_ms(pyout, work, env, 1, False)
    r["py_warm"] = starts_ms(pyout, work, env, args.runs, False)
    return r


def side_by_side(exe, work, n, name, env_off, env_on, rounds=5):
    """Call medians of two servers, one with `env_off` and one with `env_on`, running side by
    side with the calls alternating between them, so that the machine's changing load falls on
    both alike; `rounds` pairs of fresh servers: the medians of the rounds' medians and of their
    differences. Each server's project is `<work>/<name>-<round>-<off|on>`."""
    env = dict(os.environ, MXCP_DISABLE_ANALYTICS="1")
    env.pop("MXCP_CONFIG", None)
    serve = [exe, "serve", "--transport", "stdio"]
    off, on = [], []
    for r in range(rounds):
        servers = []
        for side, extra in (("off", env_off), ("on", env_on)):
            project = os.path.join(work, f"{name}-{r}-{side}")
            shutil.copytree(os.path.join(HERE, "project"), project)
            s = Stdio(serve, project, dict(env, **extra))
            s.handshake()
            for _ in range(50):
                s.request("tools/call", CALL)
            servers.append((s, []))
        for _ in range(n):
            for s, lat in servers:
                t = time.perf_counter()
                s.request("tools/call", CALL)
                lat.append((time.perf_counter() - t) * 1000)
        for s, _ in servers:
            s.close()
        off.append(statistics.median(servers[0][1]))
        on.append(statistics.median(servers[1][1]))
    added = statistics.median(b - a for a, b in zip(off, on))
    return statistics.median(off), statistics.median(on), added


def audit_overhead(exe, work, n):
    """Call medians with auditing off and on (MXCP_AUDIT_ENABLED)."""
    result = side_by_side(exe, work, n, "audit-bench", {"MXCP_AUDIT_ENABLED": "false"}, {"MXCP_AUDIT_ENABLED": "true"})
    assert os.listdir(os.path.join(work, "audit-bench-0-on", "audit")), "the audited server wrote its log"
    return result


class OtlpReceiver:
    """A local OTLP/HTTP endpoint that answers every export with 200 and counts the bytes."""

    def __init__(self):
        import http.server

        received = self.received = [0]

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                received[0] += len(self.rfile.read(int(self.headers.get("content-length", 0))))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def telemetry_overhead(exe, work, n):
    """Call medians with telemetry off and on, exporting spans and metrics to a local receiver
    (batches every 200 ms, metrics every second)."""
    receiver = OtlpReceiver()
    try:
        on = {"MXCP_TELEMETRY_ENABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
              "OTEL_BSP_SCHEDULE_DELAY": "200", "MXCP_TELEMETRY_METRICS_INTERVAL": "1"}
        result = side_by_side(exe, work, n, "telemetry-bench", {"MXCP_TELEMETRY_ENABLED": "false"}, on)
        assert receiver.received[0] > 0, "the traced server exported"
        return result
    finally:
        receiver.close()


def write_audit_log(directory, records, hours=12.0, max_file_size=50 * 1024 * 1024):
    """`records` records of the reference's layout over the last `hours`, rotated as a server does."""
    os.makedirs(directory, exist_ok=True)
    line = ('{"schema_name": "mxcp.endpoints", "schema_version": 2, "record_id": "%s", "timestamp": "%s", '
            '"operation_type": "tool", "operation_name": "%s", "operation_status": "%s", "duration_ms": %d, '
            '"caller_type": "http", "user_id": "user-%d", "session_id": "%s", "trace_id": null, '
            '"input_data": {"item_id": %d, "category": "veg"}, "output_data": {"id": %d, "name": "apple", "price": 1.5}, '
            '"error": %s, "policies_evaluated": ["input[0]: item_id == 13"], "policy_decision": "allow", "policy_reason": null, '
            '"business_context": {"operation_type": "tool", "operation_name": "%s", "operation_status": "%s", "policy_decision": "allow"}, '
            '"execution_events": [], "prev_hash": "%064x", "record_hash": "%064x", "signature": null}\n')
    now = time.time()
    start, step = now - hours * 3600, hours * 3600 / records
    names = ["get_item", "list_items", "count_items"]
    f, size, last, paths = None, 0, start, []
    for i in range(records):
        t = start + i * step
        if f is None or size > max_file_size:
            if f:
                f.close()
                os.utime(paths[-1], (last, last))
            path = os.path.join(directory, time.strftime("logs-default-%Y%m%dT%H%M%S.jsonl", time.gmtime(t)))
            paths.append(path)
            f, size = open(path, "w"), 0
        ok = i % 10 != 0
        name = names[i % 3]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)
        text = line % (f"{i:08x}-0000-4000-8000-000000000000", stamp, name, "success" if ok else "error", i % 50,
                       i % 100, f"s{i % 1000}", i, i, "null" if ok else '"Failed to execute SQL: boom"', name,
                       "success" if ok else "error", i, i + 1)
        f.write(text)
        size += len(text)
        last = t
    f.close()
    os.utime(paths[-1], (last, last))
    return paths


def log_query(exe, work, records, runs):
    """Wall time of `mxcp log --since 1d` (median of runs) and of a filter no record matches."""
    project = os.path.join(work, "log-bench")
    os.makedirs(project)
    audit = os.path.join(project, "audit")
    with open(os.path.join(project, "mxcp-site.yml"), "w") as f:
        f.write("mxcp: 1\nproject: logbench\nprofile: default\nprofiles:\n  default:\n    audit:\n      enabled: true\n")
    print(f"writing {records} audit records ...", file=sys.stderr)
    paths = write_audit_log(audit, records)
    env = dict(os.environ, MXCP_DISABLE_ANALYTICS="1")
    env.pop("MXCP_CONFIG", None)

    def wall(args):
        t = time.perf_counter()
        out = subprocess.run([exe, "log", *args], cwd=project, env=env, capture_output=True, check=True)
        return (time.perf_counter() - t) * 1000, out.stdout

    wall(["--since", "1d"])
    times = []
    for _ in range(runs):
        ms, out = wall(["--since", "1d", "--json"])
        times.append(ms)
    assert json.loads(out)["result"]["count"] == 100, "the 100 newest records"
    worst, out = wall(["--since", "1d", "--tool", "nope", "--json"])
    assert json.loads(out)["result"]["count"] == 0
    mb = sum(os.path.getsize(p) for p in paths) / 1e6
    return {"log": statistics.median(times), "log_worst": worst, "log_files": len(paths), "log_mb": mb}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mxcp", required=True)
    ap.add_argument("--ref", default=os.path.expanduser("~/.cache/mxcp-ref/bin/mxcp"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--ref-calls", type=int, default=200)
    ap.add_argument("--http-seconds", type=float, default=5)
    ap.add_argument("--log-records", type=int, default=1_000_000)
    ap.add_argument("--only", choices=["telemetry", "replicas"], help="measure only this")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mxcp-bench-")
    if args.only == "telemetry":
        try:
            print_telemetry(*telemetry_overhead(args.mxcp, work, args.calls))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    if args.only == "replicas":
        try:
            print_replicas(replicas.measure(args.mxcp, args.http_seconds))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    try:
        ours = measure("mxcp", args.mxcp, args, work)
        print("measuring the audit log ...", file=sys.stderr)
        audit_off, audit_on, audit_added = audit_overhead(args.mxcp, work, args.calls)
        print("measuring telemetry ...", file=sys.stderr)
        telemetry = telemetry_overhead(args.mxcp, work, args.calls)
        logs = log_query(args.mxcp, work, args.log_records, args.runs)
        built = measure_built(args.mxcp, args, work)
        print("measuring replicas behind HAProxy ...", file=sys.stderr)
        fleet = replicas.measure(args.mxcp, args.http_seconds)
        ref = measure("reference", args.ref, args, work) if os.path.exists(args.ref) else None
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows = [
        ("spawn -> first tools/list", "startup", "ms", False, "30x sooner; < 50 ms"),
        ("tools/call median (stdio)", "median", "ms", False, "20x lower; < 0.5 ms"),
        ("tools/call p99 (stdio)", "p99", "ms", False, ""),
        ("HTTP, 8 clients", "http_rps", "calls/s", True, ""),
        ("HTTP call median", "http_median", "ms", False, ""),
        ("peak RSS", "rss", "MB", False, "<= 1/4"),
        ("validate", "validate", "ms", False, "< 100 ms"),
        ("Python tool call median", "py_median", "ms", False, "< 1 ms"),
        ("Python tool call p99", "py_p99", "ms", False, ""),
        ("`mxcp run` of the Python tool", "py_run", "ms", False, ""),
    ]
    print(f"{'metric':28} {'mxcp':>14} {'reference':>14} {'ratio':>8}   bar")
    for label, key, unit, higher_better, bar in rows:
        a = ours[key]
        line = f"{label:28} {fmt(a, unit):>14}"
        if ref is not None:
            b = ref[key]
            ratio = ""
            if isinstance(a, float) and isinstance(b, float) and a > 0 and b > 0:
                ratio = f"{(a / b if higher_better else b / a):.1f}x"
            line += f" {fmt(b, unit):>14} {ratio:>8}"
        else:
            line += f" {'(not installed)':>14} {'':>8}"
        print(f"{line}   {bar}")
    print(f"(calls: mxcp {ours['calls']} sequential; reference {ref['calls'] if ref else '-'})")
    print()
    print("mxcp build of examples/inventory (SQL only), from a stripped mxcp:")
    ref_start = f" (reference start-up: {ref['startup']:.0f} ms)" if ref else ""
    print(f"  build time                    {built['build']:.0f} ms")
    print(f"  executable size               {built['size']:.1f} MB   bar: < 80 MB (release build)")
    print(f"  first start -> tools/list     {built['first']:.1f} ms   bar: < 500 ms{ref_start}")
    print(f"  warm start -> tools/list      {built['warm']:.1f} ms   bar: < 50 ms")
    print("audit log (mxcp only):")
    print(f"  call median, audit off / on   {audit_off:.3f} / {audit_on:.3f} ms (side by side, alternating); "
          f"added {audit_added * 1000:+.1f} us   bar: < 20 us")
    print(f"  mxcp log --since 1d           {logs['log']:.0f} ms over {args.log_records} records "
          f"({logs['log_files']} files, {logs['log_mb']:.0f} MB)   bar: < 1 s")
    print(f"  a filter matching nothing     {logs['log_worst']:.0f} ms (every file read)")
    print_replicas(fleet)
    print_telemetry(*telemetry)
    print("mxcp build of bench/pyproject (a Python tool):")
    print(f"  first start -> tools/list     {built['py_first']:.1f} ms   (extracts the standard library)")
    print(f"  warm start -> tools/list      {built['py_warm']:.1f} ms")


def print_replicas(fleet):
    if fleet is None:
        print("behind HAProxy: skipped (haproxy not installed; ./dev bench installs it)")
        return
    one, three = fleet[1], fleet[3]
    gain = f" ({three / one:.2f}x)" if isinstance(one, float) and isinstance(three, float) else ""
    print("behind HAProxy (mxcp only):")
    print(f"  HTTP, 16 clients, stateless   1 replica {fmt(one, 'calls/s')}, "
          f"3 replicas {fmt(three, 'calls/s')}{gain} (one machine's 2 cores for all)")


def print_telemetry(off, on, added):
    print("telemetry (mxcp only):")
    print(f"  call median, telemetry off / on {off:.3f} / {on:.3f} ms (side by side, exporting to a local "
          f"receiver); added {added * 1000:+.1f} us   bar: < 30 us")


def fmt(v, unit):
    return f"{v:.2f} {unit}" if isinstance(v, float) else str(v)


if __name__ == "__main__":
    main()
