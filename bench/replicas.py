"""HTTP throughput of 1 vs 3 `mxcp serve --stateless` replicas behind Debian's HAProxy, with
the `defaults` of deploy/haproxy.cfg (what is documented is what is measured).

The clients run in several processes (one Python process tops out near the server's rate), on
the same 2 cores as the replicas and the balancer: the figures say how the fleet shares this
machine, not how it scales on more of them.
"""
import http.client
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "hello_world", "arguments": {"name": "World"}}}
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
           "Mcp-Protocol-Version": "2025-06-18"}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def haproxy_config(front, backends):
    with open(os.path.join(HERE, "..", "deploy", "haproxy.cfg")) as f:
        lines = f.read().splitlines()
    start = lines.index("defaults")
    end = next(i for i, l in enumerate(lines) if l.startswith("frontend"))
    servers = "".join(f"    server r{i} 127.0.0.1:{p} check inter 500ms\n" for i, p in enumerate(backends))
    return ("global\n    maxconn 1024\n" + "\n".join(lines[start:end]) + "\n"
            f"frontend mcp\n    bind 127.0.0.1:{front}\n    default_backend replicas\n"
            "backend replicas\n    balance roundrobin\n    option httpchk GET /readyz\n" + servers)


def client_thread(port, deadline, counts, errors):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps(CALL)
    n = 0
    try:
        while time.perf_counter() < deadline:
            conn.request("POST", "/mcp", body, HEADERS)
            r = conn.getresponse()
            data = r.read()
            if r.status != 200 or b"Hello, World!" not in data:
                raise RuntimeError(f"bad reply {r.status}: {data[:200]!r}")
            n += 1
    except Exception as e:  # noqa: BLE001 - reported as a failed measurement
        errors.append(str(e))
    counts.append(n)


def client_process(port, seconds, threads, queue):
    deadline = time.perf_counter() + seconds
    counts, errors = [], []
    ts = [threading.Thread(target=client_thread, args=(port, deadline, counts, errors)) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    queue.put((sum(counts), errors))


def throughput(exe, replicas, seconds, haproxy, processes=4, threads=4):
    """Calls per second through HAProxy to `replicas` servers, 16 clients, for `seconds`."""
    work = tempfile.mkdtemp(prefix="mxcp-bench-replicas-")
    env = dict(os.environ, MXCP_DISABLE_ANALYTICS="1")
    env.pop("MXCP_CONFIG", None)
    children = []
    try:
        ports = []
        for i in range(replicas):
            project = os.path.join(work, f"r{i}")
            shutil.copytree(os.path.join(HERE, "project"), project)
            port = free_port()
            children.append(subprocess.Popen(
                [exe, "serve", "--transport", "streamable-http", "--stateless", "--port", str(port)],
                cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            ports.append(port)
        for port in ports:
            wait_port(port)
        front = free_port()
        cfg = os.path.join(work, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(haproxy_config(front, ports))
        children.append(subprocess.Popen([haproxy, "-db", "-f", cfg],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(front)
        time.sleep(1.2)  # the first health checks mark every replica up
        queue = multiprocessing.Queue()
        procs = [multiprocessing.Process(target=client_process, args=(front, seconds, threads, queue))
                 for _ in range(processes)]
        start = time.perf_counter()
        for p in procs:
            p.start()
        results = [queue.get(timeout=seconds + 60) for _ in procs]
        for p in procs:
            p.join()
        elapsed = time.perf_counter() - start
        errors = [e for _, errs in results for e in errs]
        if errors:
            return f"failed: {errors[0]}"
        return sum(n for n, _ in results) / elapsed
    finally:
        for c in children:
            c.terminate()
        for c in children:
            try:
                c.wait(timeout=10)
            except subprocess.TimeoutExpired:
                c.kill()
        shutil.rmtree(work, ignore_errors=True)


def measure(exe, seconds, haproxy=None):
    """{replicas: calls/s} for 1 and 3 replicas, or None when HAProxy is not installed."""
    haproxy = haproxy or os.environ.get("MXCP_TEST_HAPROXY") or shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not os.path.exists(haproxy):
        return None
    return {n: throughput(exe, n, seconds, haproxy) for n in (1, 3)}
