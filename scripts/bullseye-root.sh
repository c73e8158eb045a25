#!/usr/bin/env bash
# A Debian 11 (bullseye, glibc 2.31) root: the oldest glibc this machine can run (buster is
# gone from the mirror), used to prove that portable builds run on an old system (issue 15,
# step 4). Made once with debootstrap and cached; needs root. MXCP_ROOT_ARCH=arm64 makes and
# runs an arm64 root instead (issue 15, step 5): debootstrap's second stage and everything run
# in it go through qemu-aarch64-static, registered with binfmt_misc (with the F flag, so the
# emulator works inside the chroot).
#   scripts/bullseye-root.sh                      prints the root's path (creates it once)
#   scripts/bullseye-root.sh run [--bind HOST:IN]... [--bind-rw HOST:IN]... -- CMD...
#       runs CMD in the root with an empty environment; /proc and a tmpfs /dev/shm are
#       mounted for the run (POSIX semaphores need it), HOST is bind-mounted at IN, read-only
#       (--bind) or writable (--bind-rw).
set -euo pipefail

TOOLS="${MXCP_TOOLS_DIR:-$HOME/.cache/mxcp-tools}"
SUITE=bullseye
MIRROR=http://deb.debian.org/debian
ARCH="${MXCP_ROOT_ARCH:-amd64}"
case "$ARCH" in
  amd64) ROOT="$TOOLS/$SUITE-minbase-1" ;;      # bump the suffix when the recipe below changes
  arm64) ROOT="$TOOLS/$SUITE-arm64-minbase-1" ;;
  *) echo "error: MXCP_ROOT_ARCH is amd64 or arm64, not '$ARCH'" >&2; exit 2 ;;
esac

say() { echo "==> $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "debootstrap and chroot need root"

# arm64 programs run through qemu: binfmt_misc mounted, Debian's qemu-aarch64 entry registered
ensure_binfmt() {
  [ "$ARCH" = arm64 ] || return 0
  command -v qemu-aarch64-static >/dev/null || {
    say "installing qemu-user-static (apt)"
    apt-get install -y -qq qemu-user-static >&2 || { apt-get update -qq >&2 && apt-get install -y -qq qemu-user-static >&2; } \
      || die "cannot install qemu-user-static"
  }
  local fs=/proc/sys/fs/binfmt_misc
  [ -e "$fs/register" ] || mount -t binfmt_misc binfmt_misc "$fs" || die "cannot mount binfmt_misc"
  [ -e "$fs/qemu-aarch64" ] || cat /usr/lib/binfmt.d/qemu-aarch64.conf >"$fs/register" \
    || die "cannot register qemu-aarch64 with binfmt_misc"
}

ensure_root() {
  ensure_binfmt
  [ -f "$ROOT/.complete" ] && return 0
  command -v debootstrap >/dev/null || {
    say "installing debootstrap (apt)"
    apt-get install -y -qq debootstrap >&2 || { apt-get update -qq >&2 && apt-get install -y -qq debootstrap >&2; } \
      || die "cannot install debootstrap"
  }
  mkdir -p "$TOOLS/logs"
  local tmp="$ROOT.tmp" log="$TOOLS/logs/$(basename "$ROOT")-debootstrap.log" t=$SECONDS
  rm -rf "$tmp"
  say "debootstrap --variant=minbase --arch=$ARCH $SUITE (once; log: $log)"
  local ok=1
  if [ "$ARCH" = amd64 ]; then
    nice -n 19 debootstrap --variant=minbase "$SUITE" "$tmp" "$MIRROR" >"$log" 2>&1 || ok=0
  else
    # two stages: unpack here, then configure inside the root (under qemu)
    { nice -n 19 debootstrap --variant=minbase --arch=arm64 --foreign "$SUITE" "$tmp" "$MIRROR" \
        && nice -n 19 chroot "$tmp" /debootstrap/debootstrap --second-stage; } >"$log" 2>&1 || ok=0
  fi
  if [ "$ok" = 0 ]; then
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
      --bind) binds+=("ro:$2"); shift 2 ;;
      --bind-rw) binds+=("rw:$2"); shift 2 ;;
      --) shift; break ;;
      *) break ;;
    esac
  done
  [ $# -gt 0 ] || die "run: no command given"
  cleanup() { local i; for ((i=${#MOUNTS[@]}-1; i>=0; i--)); do umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}"; done; }
  trap cleanup EXIT
  mount -t proc proc "$ROOT/proc" && MOUNTS+=("$ROOT/proc")
  mkdir -p "$ROOT/dev/shm" && mount -t tmpfs -o size=64m tmpfs "$ROOT/dev/shm" && MOUNTS+=("$ROOT/dev/shm")
  local b mode host in
  for b in "${binds[@]}"; do
    mode="${b%%:*}"; b="${b#*:}"; host="${b%%:*}"; in="${b#*:}"
    mkdir -p "$ROOT$in"
    mount --bind "$host" "$ROOT$in" && MOUNTS+=("$ROOT$in")
    [ "$mode" = rw ] || mount -o remount,bind,ro "$ROOT$in"
  done
  local rc=0
  chroot "$ROOT" /usr/bin/env -i "$@" || rc=$?
  return $rc
}

ensure_root
case "${1:-}" in
  "") echo "$ROOT" ;;
  run) shift; run_in_root "$@" ;;
  *) die "usage: $0 [run [--bind HOST:IN]... [--bind-rw HOST:IN]... -- CMD...]" ;;
esac
