#!/usr/bin/env bash
# Writable cgroups for the process backend's kernel-enforced limits (memory_gb -> a real OOM
# kill, cpu_cores -> a CPU quota), as root, on Debian 12 (v1, hybrid or v2 hosts, containers).
# Without them the emulator falls back to per-process rlimits and the cgroup tests skip, or fail
# under --require-cgroups / CI. What it does, only where needed:
#   - remounts read-only cgroup mounts read-write (a container started with enough privilege
#     for mounting, whose runtime mounted them read-only);
#   - on cgroup v2 inside a container's cgroup namespace ("0::/" but not the real root), moves
#     the container's processes into a child group and delegates memory and cpu to the
#     children, as docker-in-docker's entry point does (v2 forbids enabling controllers for
#     children in a group that holds processes).
# It ends by checking with the emulator's own detection (emulator/runtime/limits.py).
set -euo pipefail
cd "$(dirname "$0")/.."

writable() {
  # limits.py is standard library only: load it by path (the emulator may not be installed yet).
  python3 -I -c '
import importlib.util, sys
spec = importlib.util.spec_from_file_location("limits", "emulator/runtime/limits.py")
limits = sys.modules["limits"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(limits)
version = limits.cgroup_bases()[0]
print(version or "none")
sys.exit(0 if version else 1)'
}

if version=$(writable); then
  echo "cgroups: writable ($version); nothing to do"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "cgroups: none writable, and fixing that needs root: run this script as root" >&2
  exit 1
fi

# Read-only cgroup mounts (fstype cgroup or cgroup2; mount options are the 6th field).
while read -r _ _ _ _ point options _; do
  case ",$options," in *,ro,*) ;; *) continue ;; esac
  echo "cgroups: remounting $point read-write"
  # A read-only bind (how container runtimes often hand cgroups in) needs "bind" to change.
  mount -o remount,rw "$point" 2>/dev/null || mount -o remount,bind,rw "$point" \
    || echo "cgroups: cannot remount $point (not privileged?)" >&2
done < <(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) ~ /^cgroup2?$/) print; break } }' /proc/self/mountinfo)

# cgroup v2 in a container's namespace: evacuate the root group, then delegate.
v2=/sys/fs/cgroup
if [ -f "$v2/cgroup.controllers" ] && [ "$(cat /proc/self/cgroup)" = "0::/" ]; then
  if ! grep -qw memory "$v2/cgroup.subtree_control" || ! grep -qw cpu "$v2/cgroup.subtree_control"; then
    echo "cgroups: moving this container's processes to $v2/init and delegating memory and cpu"
    mkdir -p "$v2/init"
    while read -r pid; do
      echo "$pid" > "$v2/init/cgroup.procs" 2>/dev/null || true
    done < "$v2/cgroup.procs"
    echo "+memory +cpu" > "$v2/cgroup.subtree_control" \
      || echo "cgroups: the memory and cpu controllers cannot be delegated here" >&2
  fi
fi

if version=$(writable); then
  echo "cgroups: writable ($version)"
else
  echo "cgroups: still none writable: the machine (or the container's runtime) must grant them" \
    "(docker run --privileged --cgroupns=private, or a systemd delegation); the tests of" \
    "kernel-enforced limits skip without them, and fail under --require-cgroups or CI" >&2
  exit 1
fi
