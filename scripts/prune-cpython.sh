#!/usr/bin/env bash
# The static CPython prefixes of scripts/build-cpython.sh are cached by recipe, and every change
# to that script is a new recipe: without pruning, each old one stays (≈ 110 MB, and 17 MB for
# a dependency prefix). The prefixes in use are marked (.last-used) each time they are used, so
# a machine that builds two checkouts with different recipes keeps both; what has not been
# used for --days (default 30) is removed, as are the work dirs of builds that stopped midway
# more than a day ago.
#   scripts/prune-cpython.sh mark PREFIX      PREFIX (and its dependency prefix) used now
#   scripts/prune-cpython.sh [--days N]       remove what has gone unused that long
# Works in $MXCP_TOOLS_DIR (default ~/.cache/mxcp-tools). Prints what it removes on stderr.
set -euo pipefail
TOOLS="${MXCP_TOOLS_DIR:-$HOME/.cache/mxcp-tools}"

if [ "${1:-}" = mark ]; then
  prefix="${2:?usage: prune-cpython.sh mark PREFIX}"
  touch "$prefix/.last-used"
  # BUILD-INFO's first line: "recipe <hash> (dependencies <hash>)"
  deps="$(sed -n '1s/.*(dependencies \([^)]*\)).*/\1/p' "$prefix/BUILD-INFO" 2>/dev/null || true)"
  if [ -n "$deps" ] && [ -d "$TOOLS/cpython-deps-$deps" ]; then touch "$TOOLS/cpython-deps-$deps/.last-used"; fi
  exit 0
fi

days=30
if [ "${1:-}" = --days ]; then days="${2:?usage: prune-cpython.sh --days N}"; fi
[[ "$days" =~ ^[0-9]+$ ]] || { echo "error: --days wants a whole number of days, not '$days'" >&2; exit 2; }
[ -d "$TOOLS" ] || exit 0

# a prefix's last use: its mark, else (made before marks existed) when it was completed
last_used() {
  local f
  for f in "$1/.last-used" "$1/.complete"; do
    if [ -e "$f" ]; then stat -c %Y "$f"; return; fi
  done
  stat -c %Y "$1"
}

now="$(date +%s)"
for dir in "$TOOLS"/cpython-*; do
  [ -d "$dir" ] || continue
  name="$(basename "$dir")"
  case "$name" in
    *.tmp.*) limit=86400; age=$((now - $(stat -c %Y "$dir"))) ;;
    *) limit=$((days * 86400)); age=$((now - $(last_used "$dir"))) ;;
  esac
  [ "$age" -gt "$limit" ] || continue
  echo "==> removing $dir (unused for $((age / 86400)) days)" >&2
  rm -rf "$dir"
  rm -f "$TOOLS/pyo3-portable-$name.cfg"
done
