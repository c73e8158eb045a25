#!/bin/sh
# Runs a command in a private mount namespace where every Python installation of this machine
# is hidden: interpreters become /dev/null, library directories empty tmpfs mounts.
#   no-python.sh CMD ARGS...
# Used by the tests that prove mxcp needs no Python on the machine it runs on.
set -e
exec unshare --mount --propagation private sh -ec '
for d in /root/.pyenv /usr/lib/python3 /usr/lib/python3.11 /usr/local/lib/python3.11 /usr/share/python3 \
         /opt/wheels "$HOME/.local/lib" "$HOME/.cache/mxcp-tools" "$HOME/.cache/mxcp-ref" "$HOME/.pyenv"; do
  if [ -d "$d" ]; then mount -t tmpfs tmpfs "$d"; fi
done
for f in /usr/bin/python* /usr/local/bin/python* /usr/lib/x86_64-linux-gnu/libpython3*; do
  if [ -e "$f" ] && [ ! -L "$f" ]; then mount --bind /dev/null "$f"; fi
done
# nothing called python may run in here
if python3 -c "print(1)" >/dev/null 2>&1; then echo "no-python.sh: a python3 is still runnable" >&2; exit 97; fi
exec "$@"' no-python "$@"
