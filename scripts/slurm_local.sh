#!/usr/bin/env bash
# A real one-node Slurm cluster (Debian's slurm-wlm and munge, no systemd) in a folder, for the
# Slurm tests and for trying `vmunet slurm --submit` on one machine:
#   scripts/slurm_local.sh start DIR   # installs what is missing, starts munged, slurmctld, slurmd;
#                                      # prints `export SLURM_CONF=DIR/slurm.conf`
#   scripts/slurm_local.sh stop DIR    # stops what start started, by the pids it recorded
# Needs root (munged runs as munge, the Slurm daemons as root). Exits non-zero with one line on
# stderr when the cluster cannot be started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
action=${1:-}
dir=${2:-}
if [[ -z "$action" || -z "$dir" ]]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

fail() {
  echo "slurm_local: $*" >&2
  exit 1
}

stop() {
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    [[ -f "$pidfile" ]] || continue
    local pid
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$pidfile"
  done
}

start() {
  [[ "$(id -u)" -eq 0 ]] || fail "needs root (the Slurm daemons and munged run as root/munge)"
  "$root/scripts/install_deps.sh" >/dev/null
  for tool in munged slurmctld slurmd sbatch; do
    command -v "$tool" >/dev/null || fail "$tool not found after installing slurm-wlm and munge"
  done
  mkdir -p "$dir"/{state,spool,log}

  # One munged per machine: reuse a running one (its socket answers), else start ours.
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    mkdir -p /run/munge "$dir/munge"
    chown munge:munge /run/munge "$dir/munge"
    chown -R munge:munge /var/log/munge /var/lib/munge /etc/munge
    [[ -f /etc/munge/munge.key ]] || runuser -u munge -- mungekey --create
    runuser -u munge -- munged --pid-file="$dir/munge/munged.pid" ||
      fail "munged did not start (see /var/log/munge/munged.log)"
    munge -n | unmunge >/dev/null || fail "munge credentials do not verify"
  fi

  sed "s#@DIR@#$dir#g; s#@HOST@#$(hostname -s)#g; s#@CPUS@#$(nproc)#g" \
    "$root/slurm/local.conf.in" >"$dir/slurm.conf"
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld || fail "slurmctld did not start (see $dir/log/slurmctld.log)"
  slurmd || fail "slurmd did not start (see $dir/log/slurmd.log)"
  for _ in $(seq 100); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      echo "export SLURM_CONF=$dir/slurm.conf"
      return
    fi
    sleep 0.2
  done
  stop
  fail "the node did not come up idle within 20 s (see $dir/log/)"
}

case "$action" in
  start) start ;;
  stop) stop ;;
  *) fail "unknown action '$action' (start or stop)" ;;
esac
