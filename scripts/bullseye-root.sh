#!/usr/bin/env bash
# A Debian 11 (bullseye, glibc 2.31) root: the oldest glibc this machine can run (buster is
# gone from the mirror), used to prove that portable builds run on an old system (issue 15,
# step 4). Made once with debootstrap and cached; needs root.
#   scripts/bullseye-root.sh                      prints the root's path (creates it once)
#   scripts/bullseye-root.sh run [--bind HOST:IN]... -- CMD...
#       runs CMD in the root with an empty environment; /proc and a tmpfs /dev/shm are
#       mounted for the run (POSIX semaphores need it), HOST is bind-mounted read-only at IN.
set -euo pipefail

TOOLS="${MXCP_TOOLS_DIR:-$HOME/.cache/mxcp-tools}"
SUITE=bullseye
MIRROR=http://deb.debian.org/debian
ROOT="$TOOLS/$SUITE-minbase-1"      # bump the suffix when the recipe below changes

say() { echo "==> $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "debootstrap and chroot need root"

ensure_root() {
  [ -f "$ROOT/.complete" ] && return 0
  command -v debootstrap >/dev/null || {
    say "installing debootstrap (apt)"
    apt-get install -y -qq debootstrap >&2 || { apt-get update -qq >&2 && apt-get install -y -qq debootstrap >&2; } \
      || die "cannot install debootstrap"
  }
  mkdir -p "$TOOLS/logs"
  local tmp="$ROOT.tmp" log="$TOOLS/logs/$SUITE-debootstrap.log" t=$SECONDS
  rm -rf "$tmp"
  say "debootstrap --variant=minbase $SUITE (once; log: $log)"
  if ! nice -n 19 debootstrap --variant=minbase "$SUITE" "$tmp" "$MIRROR" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "debootstrap failed, see $log"
  fi
  rm -rf "$tmp/var/cache/apt/archives/"*.deb
  touch "$tmp/.complete"
  mv -T "$tmp" "$ROOT"      # nothing half-made is ever used
  say "$SUITE root ready in $((SECONDS - t))s ($(du -sh "$ROOT" | cut -f1)): $ROOT"
}

run_in_root() {
  local binds=()
  MOUNTS=()   # global: the EXIT trap runs after this function has returned
  while [ $# -gt 0 ]; do
    case "$1" in
      --bind) binds+=("$2"); shift 2 ;;
      --) shift; break ;;
      *) break ;;
    esac
  done
  [ $# -gt 0 ] || die "run: no command given"
  cleanup() { local i; for ((i=${#MOUNTS[@]}-1; i>=0; i--)); do umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}"; done; }
  trap cleanup EXIT
  mount -t proc proc "$ROOT/proc" && MOUNTS+=("$ROOT/proc")
  mkdir -p "$ROOT/dev/shm" && mount -t tmpfs -o size=64m tmpfs "$ROOT/dev/shm" && MOUNTS+=("$ROOT/dev/shm")
  local b host in
  for b in "${binds[@]}"; do
    host="${b%%:*}"; in="${b#*:}"
    mkdir -p "$ROOT$in"
    mount --bind "$host" "$ROOT$in" && MOUNTS+=("$ROOT$in")
    mount -o remount,bind,ro "$ROOT$in"
  done
  local rc=0
  chroot "$ROOT" /usr/bin/env -i "$@" || rc=$?
  return $rc
}

ensure_root
case "${1:-}" in
  "") echo "$ROOT" ;;
  run) shift; run_in_root "$@" ;;
  *) die "usage: $0 [run [--bind HOST:IN]... -- CMD...]" ;;
esac
