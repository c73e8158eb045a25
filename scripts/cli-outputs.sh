#!/usr/bin/env bash
# Prints the CLI outputs of validate/list/run/test/lint (text and --json-output) on every
# examples/ project, so a refactoring can be checked to change no behaviour:
#   scripts/cli-outputs.sh [MXCP_BINARY] > before.txt; ...; scripts/cli-outputs.sh > after.txt; cmp
# Each project runs in a fresh copy under a temp dir with HOME there and the empty user config;
# temp paths and timings are normalised so two runs compare byte for byte.
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/mxcp-target}/${MXCP_HOST_TRIPLE:-$(uname -m)-unknown-linux-gnu}/debug/mxcp}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp" MXCP_CONFIG="$root/tests/fixtures/empty-config.yml"
unset MXCP_PROFILE MXCP_DEBUG

# one tool per example, with arguments
declare -A run_args=(
  [conformance]="test_simple_text"
  [hello]="hello_world -p name=World"
  [inventory]="get_item -p item_id=1"
  [pydeps]="stdlib_tour -p text=<b>"
  [pytools]="add -p a=2 -p b=3"
  [types]="describe_day -p day=2024-01-02"
)

normalise() {
  sed -E -e "s#$tmp#<TMP>#g" \
    -e 's#[0-9]+(\.[0-9]+)? ?(ms|s|µs|us)\b#<TIME>#g' \
    -e 's#"(duration|elapsed|time)[a-z_]*": ?[0-9.e+-]+#"\1": <TIME>#g'
}

for dir in "$root"/examples/*/; do
  name="$(basename "$dir")"
  work="$tmp/$name"
  cp -r "$dir" "$work"
  for json in "" "--json-output"; do
    for cmd in "validate" "list" "run tool ${run_args[$name]:-}" "test" "lint"; do
      echo "=== $name: mxcp $cmd $json"
      # shellcheck disable=SC2086
      (cd "$work" && "$bin" $cmd $json 2>&1; echo "[exit $?]") | normalise
    done
  done
done
