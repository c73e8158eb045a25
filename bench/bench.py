#!/usr/bin/env python3
"""mxcp benchmarks (a measurement, not a test): prints figures and, when the Python reference
is installed, ratios against it measured in the same run.

Reference install (documented, optional):
    python3 -m venv ~/.cache/mxcp-ref
    ~/.cache/mxcp-ref/bin/pip install "mxcp==0.12.3" "dbt-core>=1.9,<1.11"

Usage: bench.py --mxcp PATH [--ref PATH] [--runs N]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd, cwd, env):
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed in {cwd}:\n{proc.stderr.decode()}")
    return elapsed


def median_ms(cmd, cwd, env, runs):
    timed(cmd, cwd, env)  # warm-up: caches, page cache
    return statistics.median(timed(cmd, cwd, env) * 1000 for _ in range(runs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mxcp", required=True)
    ap.add_argument("--ref", default=os.path.expanduser("~/.cache/mxcp-ref/bin/mxcp"))
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()

    env = dict(os.environ, MXCP_DISABLE_ANALYTICS="1")
    env.pop("MXCP_CONFIG", None)
    work = tempfile.mkdtemp(prefix="mxcp-bench-")
    try:
        ours = os.path.join(work, "ours")
        subprocess.run([args.mxcp, "init", "--bootstrap", ours], check=True, stdout=subprocess.DEVNULL)
        results = {"validate (bootstrap project)": [median_ms([args.mxcp, "validate"], ours, env, args.runs)]}
        have_ref = os.path.exists(args.ref)
        if have_ref:
            ref = os.path.join(work, "ref")
            subprocess.run([args.ref, "init", "--bootstrap", ref], check=True, input=b"n\n", env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            results["validate (bootstrap project)"].append(median_ms([args.ref, "validate"], ref, env, args.runs))
        print(f"{'metric':34} {'mxcp':>12} {'reference':>12} {'ratio':>8}")
        for name, vals in results.items():
            line = f"{name:34} {vals[0]:10.1f}ms"
            if len(vals) > 1:
                line += f" {vals[1]:10.1f}ms {vals[1] / vals[0]:7.1f}x"
            else:
                line += f" {'(not installed)':>12}"
            print(line + "   (bar: < 100 ms)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
