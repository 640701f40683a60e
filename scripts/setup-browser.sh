#!/usr/bin/env bash
# setup-browser.sh - Debian's chromium for the portal's browser test (driven by playwright,
# which the test extra installs; no `playwright install` download is needed), and libatomic1:
# Playwright's bundled node driver links libatomic.so.1, which a minimal Debian 12 lacks.
# Idempotent: a second run only checks. Run as root on Debian 12.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# The driver's other libraries (libstdc++6, libgcc-s1) are part of every Debian install.
[ -e /usr/lib/x86_64-linux-gnu/libatomic.so.1 ] || [ -e /usr/lib/aarch64-linux-gnu/libatomic.so.1 ] ||
  dpkg -s libatomic1 >/dev/null 2>&1 || missing+=(libatomic1)
if [ ${#missing[@]} -eq 0 ]; then
  echo "==> chromium present: $(chromium --version 2>/dev/null || echo unknown version); libatomic1 present"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "setup-browser: ERROR: must run as root (apt-get)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
LOG=/var/log/amlemu-setup-browser.log
echo "==> installing ${missing[*]} (log: $LOG)"
{ apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } >>"$LOG" 2>&1 || {
  tail -n 25 "$LOG" >&2
  echo "setup-browser: ERROR: apt-get install ${missing[*]} failed (log: $LOG)" >&2
  exit 1
}
echo "==> $(chromium --version)"
