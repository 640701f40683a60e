#!/usr/bin/env bash
# setup-browser.sh - Debian's chromium for the portal's browser test (driven by playwright,
# which the test extra installs; no `playwright install` download is needed).
# Idempotent: a second run only checks. Run as root on Debian 12.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "==> chromium present: $(chromium --version 2>/dev/null || echo unknown version)"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "setup-browser: ERROR: must run as root (apt-get)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
LOG=/var/log/amlemu-setup-browser.log
echo "==> installing chromium (log: $LOG)"
{ apt-get update -q && apt-get install -y -q --no-install-recommends chromium; } >>"$LOG" 2>&1 || {
  tail -n 25 "$LOG" >&2
  echo "setup-browser: ERROR: apt-get install chromium failed (log: $LOG)" >&2
  exit 1
}
echo "==> $(chromium --version)"
