#!/usr/bin/env bash
# setup-docker.sh - make a Docker engine and the emulator's offline base image available.
#
# The docker builder (AZUREML_EMULATOR_BUILDER=docker) needs a running engine and the base image
# amlemu/python-base:bookworm, because Azure's base images cannot be pulled offline. This script,
# run as root on Debian 12 (CI or a developer machine, no systemd needed), makes sure of both:
#
#   1. /etc/docker/daemon.json disables the default bridge and iptables (written BEFORE the
#      package is installed, so no dockerd ever creates docker0 or its private bridge subnet);
#      builds and containers use host networking only;
#   2. docker.io is installed if dockerd is missing (and procps/iproute2, which this script calls);
#   3. dockerd is started (setsid, log in /var/log/dockerd.log) if `docker info` fails;
#   4. the base image is built with mmdebstrap | docker import if it is missing. It carries
#      python3, venv, pip and the host's extra CA certificates, so pip inside trusts a TLS proxy.
#
# Idempotent: a second run only checks (well under a second). Knobs (environment):
#   AMLEMU_BASE_IMAGE       image to build (default amlemu/python-base:bookworm)
#   AMLEMU_FORCE_BASE=1     rebuild the base image even if it exists
#   DEBIAN_MIRROR           Debian mirror (default: the one in the host's apt sources)
#   DEBIAN_SECURITY_MIRROR  security mirror (default: the host's, else derived from DEBIAN_MIRROR)
#   DOCKERD_LOG             dockerd's log file (default /var/log/dockerd.log)
set -euo pipefail

BASE_IMAGE=${AMLEMU_BASE_IMAGE:-amlemu/python-base:bookworm}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
APT_LOG=/var/log/amlemu-setup-apt.log
BASE_LOG=/var/log/amlemu-base-image.log
SUITE=bookworm
export DEBIAN_FRONTEND=noninteractive

T_START=$EPOCHREALTIME
STEP_NAME=
STEP_T=

die() {
  echo "setup-docker: ERROR: $*" >&2
  exit 1
}
secs() { # seconds since $1 (an $EPOCHREALTIME value), one decimal
  awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}
step() {
  STEP_NAME=$1
  STEP_T=$EPOCHREALTIME
  echo "==> $STEP_NAME"
}
done_step() {
  printf '    %-42s %6s s  %s\n' "$STEP_NAME" "$(secs "$STEP_T")" "${1:-}"
}
show_log() { # last lines of a log file, to stderr, before failing
  [ -f "$1" ] && tail -n "${2:-25}" "$1" | sed 's/^/    | /' >&2
  return 0
}

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts dockerd)"
[ -r /etc/debian_version ] || die "this script supports Debian 12 (bookworm) hosts only"

# Debian's own client matches the packaged engine; a newer /usr/local/bin/docker also works.
docker_cli() {
  if [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"; else docker "$@"; fi
}

apt_install() { # quietly, with the log shown on failure
  apt-get install -y -q --no-install-recommends "$@" >>"$APT_LOG" 2>&1 || {
    show_log "$APT_LOG"
    die "apt-get install $* failed (full log: $APT_LOG)"
  }
}
APT_UPDATED=0
apt_update() {
  [ "$APT_UPDATED" = 1 ] && return 0
  apt-get update -q >>"$APT_LOG" 2>&1 || apt-get update -q >>"$APT_LOG" 2>&1 || {
    show_log "$APT_LOG"
    die "apt-get update failed (full log: $APT_LOG)"
  }
  APT_UPDATED=1
}

# The host's Debian mirrors: deb822 "URIs:" lines first, then one-line "deb" entries.
host_mirror() { # $1: path suffix, e.g. /debian or /debian-security
  {
    grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true
  } | awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) print $i }' |
    grep -E "$1/?\$" | head -n 1 || true
}

# ------------------------------------------------------------------ 1. daemon.json (no bridge)
step "daemon.json (bridge none)"
mkdir -p /etc/docker
if [ -f /etc/docker/daemon.json ] && grep -Eq '"bridge"[[:space:]]*:[[:space:]]*"none"' \
  /etc/docker/daemon.json; then
  done_step "(already set)"
else
  [ -f /etc/docker/daemon.json ] && cp /etc/docker/daemon.json /etc/docker/daemon.json.bak
  # Keys here must not also be passed as dockerd flags: dockerd refuses to start if they are.
  cat >/etc/docker/daemon.json <<'JSON'
{
  "bridge": "none",
  "iptables": false,
  "ip-forward": false,
  "ip-masq": false
}
JSON
  done_step "(written)"
fi

# ------------------------------------------------------------------ 2. install the engine
# This script itself calls pgrep (procps) and ip (iproute2); a minimal Debian 12 has neither.
step "tools this script calls"
missing=()
command -v pgrep >/dev/null 2>&1 || missing+=(procps)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
if [ ${#missing[@]} -eq 0 ]; then
  done_step "(present: pgrep, ip)"
else
  apt_update
  apt_install "${missing[@]}"
  done_step "(installed ${missing[*]})"
fi

step "install docker.io"
if command -v dockerd >/dev/null 2>&1; then
  done_step "(present: $(dockerd --version))"
else
  apt_update
  # Without systemd nothing starts the daemon here; policy-rc.d, if present, also prevents it.
  apt_install docker.io
  command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd is not on PATH"
  done_step "($(dockerd --version))"
fi

# ------------------------------------------------------------------ 3. start the engine
step "start dockerd"
if docker_cli info >/dev/null 2>&1; then
  done_step "(already answering)"
else
  # runc needs cgroups; a bare VM or container may not have them mounted.
  if [ ! -e /sys/fs/cgroup/cgroup.controllers ] &&
    [ ! -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
    command -v cgroupfs-mount >/dev/null 2>&1 || { apt_update && apt_install cgroupfs-mount; }
    cgroupfs-mount || die "cannot mount cgroups (cgroupfs-mount failed)"
  fi
  if pgrep -x dockerd >/dev/null; then
    echo "    dockerd is running but not answering yet; waiting for it"
  else
    # Pid files left by an engine that died with its machine: dockerd trusts them, and a
    # recycled pid makes it wait forever for a containerd that is not there.
    rm -f /var/run/docker.pid
    pgrep -x containerd >/dev/null || rm -f /var/run/docker/containerd/containerd.pid
    # setsid: its own session, so it outlives this shell (and CI's step); no bridge flags here,
    # daemon.json has them.
    setsid "$(command -v dockerd)" >>"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  deadline=$((SECONDS + 60))
  until docker_cli info >/dev/null 2>&1; do
    if ! pgrep -x dockerd >/dev/null; then
      show_log "$DOCKERD_LOG"
      die "dockerd exited during start-up (log: $DOCKERD_LOG)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      show_log "$DOCKERD_LOG"
      die "dockerd did not answer within 60 s (log: $DOCKERD_LOG)"
    fi
    sleep 0.2
  done
  done_step "(pid $(pgrep -x dockerd | head -n 1), log $DOCKERD_LOG)"
fi
if ip link show docker0 >/dev/null 2>&1; then
  die "a docker0 bridge exists: a dockerd was started without this script's daemon.json. Stop" \
    "that dockerd, run 'ip link delete docker0', and run this script again"
fi

# ------------------------------------------------------------------ 4. the base image
step "base image $BASE_IMAGE"
if [ "${AMLEMU_FORCE_BASE:-0}" != 1 ] && docker_cli image inspect "$BASE_IMAGE" >/dev/null 2>&1
then
  done_step "(present)"
else
  MIRROR=${DEBIAN_MIRROR:-$(host_mirror /debian)}
  [ -n "$MIRROR" ] || die "no Debian mirror in the host's apt sources; set DEBIAN_MIRROR"
  SEC_MIRROR=${DEBIAN_SECURITY_MIRROR:-$(host_mirror /debian-security)}
  [ -n "$SEC_MIRROR" ] || SEC_MIRROR="${MIRROR%/debian}/debian-security"
  command -v mmdebstrap >/dev/null 2>&1 || { apt_update && apt_install mmdebstrap; }
  compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null ||
    echo "    note: no extra CA certificates in /usr/local/share/ca-certificates; none added"

  # Import under a temporary tag and tag it only after a smoke test, so that an interrupted
  # or failed run never leaves a half-built image that the next run would take as present.
  tmp_tag="amlemu/python-base-build:$$"
  cleanup_tmp() { docker_cli image rm -f "$tmp_tag" >/dev/null 2>&1 || true; }
  trap cleanup_tmp EXIT
  : >"$BASE_LOG"
  # mmdebstrap writes the root filesystem as a tar stream to stdout; docker import reads it.
  # The hooks copy the host's extra CAs in and rebuild the bundle inside, for pip behind a proxy.
  # shellcheck disable=SC2016  # $1 is expanded by mmdebstrap's hook shell, not here
  if ! mmdebstrap --variant=minbase \
    --include=python3,python3-venv,python3-pip,ca-certificates \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook='for f in /usr/local/share/ca-certificates/*.crt; do
        if [ -f "$f" ]; then cp "$f" "$1/usr/local/share/ca-certificates/"; fi; done' \
    --customize-hook='chroot "$1" update-ca-certificates' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$SUITE" - \
    "deb $MIRROR $SUITE main" \
    "deb $MIRROR $SUITE-updates main" \
    "deb $SEC_MIRROR $SUITE-security main" 2>>"$BASE_LOG" |
    docker_cli import \
      --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
      --change 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' \
      --change 'ENV PIP_DISABLE_PIP_VERSION_CHECK=1' \
      --change 'ENV PYTHONUNBUFFERED=1' \
      --change 'ENV LANG=C.UTF-8' \
      --change 'LABEL org.opencontainers.image.title=amlemu-python-base' \
      --change 'CMD ["python3"]' \
      - "$tmp_tag" >>"$BASE_LOG" 2>&1; then
    show_log "$BASE_LOG"
    die "mmdebstrap | docker import failed (log: $BASE_LOG)"
  fi
  # Smoke test: interpreter, venv + pip (the generated Dockerfile uses them), the proxy's CA.
  smoke='import ssl, sys, venv, ensurepip
bundle = open("/etc/ssl/certs/ca-certificates.crt").read()
print(sys.version.split()[0], bundle.count("BEGIN CERTIFICATE"), "certificates")'
  if ! out=$(docker_cli run --rm --network host "$tmp_tag" python3 -c "$smoke" 2>&1); then
    printf '%s\n' "$out" >&2
    die "the new base image failed its smoke test"
  fi
  for crt in /usr/local/share/ca-certificates/*.crt; do
    [ -f "$crt" ] || continue
    docker_cli run --rm --network host "$tmp_tag" \
      test -f "/usr/local/share/ca-certificates/$(basename "$crt")" ||
      die "the base image lacks the host CA $(basename "$crt")"
  done
  docker_cli tag "$tmp_tag" "$BASE_IMAGE"
  cleanup_tmp
  trap - EXIT
  size=$(docker_cli image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')
  done_step "(built: python $out, $size)"
fi

echo "==> total $(secs "$T_START") s"
