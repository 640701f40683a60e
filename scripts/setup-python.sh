#!/usr/bin/env bash
# Python for the README's two commands on a fresh minimal Debian 12 (as root).
#
# A minimal Debian 12 may have no python3 at all, and Debian's python3 comes without pip and
# without the venv module (the local image builder makes virtualenvs). This script installs
# what is missing from Debian's archive and, when this python3 is Debian's own (marked
# "externally managed", PEP 668, so pip refuses to install into it), tells pip once, in
# /etc/pip.conf, that installing into it is intended: on a machine set up for the emulator,
# as CI's is, that is what the two commands do. An interpreter that is not externally managed
# (pyenv's, a virtualenv's, a container's python) is left exactly as it is.
set -euo pipefail

missing=()
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if command -v python3 >/dev/null 2>&1; then
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
  python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
else
  missing+=(python3-venv python3-pip)
fi
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-python: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]}) and run again" >&2
    exit 1
  fi
  echo "==> installing ${missing[*]} from Debian's archive"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" ca-certificates >/dev/null
fi

marker=$(python3 -c 'import os, sysconfig; print(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))')
if [ -f "$marker" ] && ! python3 -m pip config get global.break-system-packages >/dev/null 2>&1; then
  echo "==> $(command -v python3) is Debian's (externally managed): pip may install into it (/etc/pip.conf)"
  python3 -m pip config --global set global.break-system-packages true >/dev/null
fi
echo "==> $(python3 --version) with $(python3 -m pip --version | cut -d' ' -f1-2)"
