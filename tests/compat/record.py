#!/usr/bin/env python3
"""Records the Python reference's answers for the compatibility corpus (run by hand).

    tests/compat/record.py [CASE ...]      # every case when none is named

For each case under tests/compat/: copies `project/` to a temp dir, runs `setup.sql` there
(`mxcp query --file setup.sql`), runs each step of `steps.json` under the reference
(`$MXCP_REF`, default ~/.cache/mxcp-ref/bin/mxcp) and writes `reference/<i>.json`.
The normalisation here (paths, timings, list order) is the same as in tests/compat.rs.
"""
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
REF = os.environ.get("MXCP_REF", os.path.expanduser("~/.cache/mxcp-ref/bin/mxcp"))
EMPTY_CONFIG = os.path.join(REPO, "tests/fixtures/empty-config.yml")
TIMEOUT = 120
MCP_TIMEOUT = 30  # per reply; the reference does not exit on start-up errors until stdin closes

# ---------------------------------------------------------------- normalisation (= compat.rs)


def replace_roots(text, roots):
    for r in roots:
        text = text.replace(r, "<ROOT>")
    return text


def parse(text):
    """JSON when the whole output is JSON (NaN/Infinity become "<NaN>"...), else the text."""
    try:
        return json.loads(text, parse_constant=lambda c: "<%s>" % c)
    except ValueError:
        return text.rstrip()


def sort_found_in(s):
    """`Duplicate endpoint name 'x' found in: b.yml, a.yml` lists files in discovery order: sorted."""
    head, sep, files = s.partition(" found in: ")
    return head + sep + ", ".join(sorted(files.split(", "))) if sep and head.startswith("Duplicate endpoint") else s


TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")
SHA256 = re.compile(r"[0-9a-f]{64}")


def stamp(key, s):
    """Drift's timestamps (`generated_at`, `*_generated_at`) and `drift_hash` differ per run: a
    value of the right form becomes a placeholder (one of another form stays, and differs)."""
    if (key == "generated_at" or key.endswith("_generated_at")) and TIMESTAMP.fullmatch(s):
        return "<TIMESTAMP>"
    if key == "drift_hash" and SHA256.fullmatch(s):
        return "<SHA256>"
    return s


def drop_timings(v, key=""):
    """Also the other value-level rules: timings removed, duplicate-file lists sorted, drift's
    timestamps and hash replaced."""
    if isinstance(v, dict):
        return {k: drop_timings(x, k) for k, x in v.items() if k not in ("time", "duration")}
    if isinstance(v, list):
        return [drop_timings(x) for x in v]
    if isinstance(v, str):
        return sort_found_in(stamp(key, v))
    return v


def rel(p):
    return p[len("<ROOT>/"):] if isinstance(p, str) and p.startswith("<ROOT>/") else p


def key_of(v, *keys):
    return tuple(str(v.get(k, "")) if isinstance(v, dict) else "" for k in keys)


def normalize_cli(args, out):
    """Listings whose order is the (unsorted, filesystem) discovery order are sorted; paths relative."""
    sub = next((a for a in args if not a.startswith("-")), "")
    if not isinstance(out, dict):
        return out
    body = out.get("result") if isinstance(out.get("result"), (dict, list)) else out
    if sub == "list" and isinstance(body, dict) and isinstance(body.get("endpoints"), list):
        for e in body["endpoints"]:
            if isinstance(e, dict) and "path" in e:
                e["path"] = rel(e["path"])
        body["endpoints"].sort(key=lambda e: key_of(e, "path", "name"))
    if sub == "validate" and isinstance(body, dict) and isinstance(body.get("validated"), list):
        for e in body["validated"]:
            if isinstance(e, dict) and "path" in e:
                e["path"] = rel(e["path"])
        body["validated"].sort(key=lambda e: key_of(e, "path"))
    if sub == "lint" and isinstance(body, list):
        body.sort(key=lambda e: key_of(e, "path", "location", "message", "severity"))
    if sub == "test" and isinstance(body, dict) and isinstance(body.get("endpoints"), list):
        for e in body["endpoints"]:
            if isinstance(e, dict):
                e["endpoint"] = rel(e.get("endpoint"))
        body["endpoints"].sort(key=lambda e: key_of(e, "endpoint"))
    if sub == "drift-check" and isinstance(body, dict) and isinstance(body.get("resource_changes"), list):
        body["resource_changes"].sort(key=lambda e: key_of(e, "change_type", "path"))
    if sub == "serve" and isinstance(out.get("failed_endpoints"), list):
        for e in out["failed_endpoints"]:
            if isinstance(e, dict) and "path" in e:
                e["path"] = rel(e["path"])
        out["failed_endpoints"].sort(key=lambda e: key_of(e, "path"))
    return out


def normalize_file(content):
    """A drift snapshot's endpoint files are in discovery order: sorted by path."""
    if isinstance(content, dict) and isinstance(content.get("resources"), list):
        content["resources"].sort(key=lambda r: key_of(r.get("validation_results") if isinstance(r, dict) else {}, "path"))
    return content


def read_file(root, rel, roots):
    """A `file` step: the file's content (JSON when it is), `<missing>` when there is none."""
    try:
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return {"file": "<missing>"}
    return {"file": normalize_file(drop_timings(parse(replace_roots(text, roots))))}


LISTS = {"tools/list": ("tools", "name"), "prompts/list": ("prompts", "name"),
         "resources/list": ("resources", "uri"), "resources/templates/list": ("resourceTemplates", "uriTemplate")}


def normalize_mcp(method, response):
    if method in LISTS and isinstance(response.get("result"), dict):
        key, field = LISTS[method]
        items = response["result"].get(key)
        if isinstance(items, list):
            items.sort(key=lambda e: key_of(e, field))
    return response


# ---------------------------------------------------------------- running the reference


def env_for(root, step):
    cfg = os.path.join(root, "config.yml")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": root,
        "LANG": "C.UTF-8",
        "MXCP_DISABLE_ANALYTICS": "1",
        "MXCP_CONFIG": cfg if os.path.exists(cfg) else EMPTY_CONFIG,
    }
    env.update({k: v.replace("<ROOT>", root) for k, v in step.get("env", {}).items()})
    return env


def run_cli(root, args, env):
    try:
        p = subprocess.run([REF] + args, cwd=root, env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=TIMEOUT)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        return -1, (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or ""), "timeout"


def run_mcp(root, requests, env, roots, serve_args=()):
    p = subprocess.Popen([REF, "serve", "--transport", "stdio", *serve_args], cwd=root, env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in p.stdout] + [lines.put(None)], daemon=True).start()

    def send(msg):
        try:
            p.stdin.write(json.dumps(msg) + "\n")
            p.stdin.flush()
        except BrokenPipeError:  # the server exited (e.g. refused to start): reply() says so
            pass

    def reply(rid):
        while True:
            try:
                line = lines.get(timeout=MCP_TIMEOUT)
            except queue.Empty:
                return {"error": {"message": "<no reply>"}}
            if line is None:
                return {"error": {"message": "<server exited>"}}
            try:
                msg = json.loads(replace_roots(line, roots), parse_constant=lambda c: "<%s>" % c)
            except ValueError:  # not JSON-RPC: shown, not recorded
                print("  stdout noise: " + line.rstrip()[:200], file=sys.stderr)
                continue
            if not isinstance(msg, dict):
                continue
            if msg.get("id") == rid and ("result" in msg or "error" in msg):
                return {k: msg[k] for k in ("result", "error") if k in msg}

    out, dead = [], []
    try:
        send({"jsonrpc": "2.0", "id": 0, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "compat", "version": "1"}}})
        reply(0)
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        for i, req in enumerate(requests, start=1):
            send({"jsonrpc": "2.0", "id": i, "method": req["method"], "params": req.get("params", {})})
            r = dead[0] if dead else reply(i)
            if r.get("error", {}).get("message", "").startswith("<"):
                dead = [r]  # no server to talk to: the remaining requests get the same answer
            out.append(normalize_mcp(req["method"], drop_timings(r)))
    finally:
        try:
            p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
    return out


def record(case):
    cdir = os.path.join(HERE, case)
    steps = json.load(open(os.path.join(cdir, "steps.json")))
    tmp = tempfile.mkdtemp(prefix="mxcp-compat-")
    root = os.path.join(tmp, "project")
    shutil.copytree(os.path.join(cdir, "project"), root)
    roots = sorted({root, os.path.realpath(root)}, key=len, reverse=True)
    try:
        if os.path.exists(os.path.join(root, "setup.sql")):
            rc, out, err = run_cli(root, ["query", "--file", "setup.sql"], env_for(root, {}))
            if rc != 0:
                sys.exit(f"{case}: setup.sql failed under the reference:\n{out}\n{err}")
        refdir = os.path.join(cdir, "reference")
        shutil.rmtree(refdir, ignore_errors=True)
        os.makedirs(refdir)
        for i, step in enumerate(steps):
            env = env_for(root, step)
            if "cli" in step:
                rc, out, err = run_cli(root, step["cli"], env)
                rec = {"rc": rc, "stdout": normalize_cli(step["cli"], drop_timings(parse(replace_roots(out, roots))))}
                shown = " ".join(step["cli"])
            elif "file" in step:
                rec = read_file(root, step["file"], roots)
                shown = step["file"]
            else:
                rec = run_mcp(root, step["mcp"], env, roots, step.get("serve_args", []))
                shown = ", ".join(r["method"] for r in step["mcp"])
            with open(os.path.join(refdir, f"{i}.json"), "w") as f:
                json.dump(rec, f, indent=2, ensure_ascii=False)
                f.write("\n")
            done = f"rc={rec['rc']}" if "rc" in rec else "read" if "file" in rec else f"{len(rec)} replies"
            print(f"{case}[{i}] {shown}: {done}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    cases = sys.argv[1:] or sorted(d for d in os.listdir(HERE) if os.path.isfile(os.path.join(HERE, d, "steps.json")))
    for case in cases:
        record(case)


if __name__ == "__main__":
    main()
