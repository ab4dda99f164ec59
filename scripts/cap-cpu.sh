#!/usr/bin/env bash
# Caps a running process (all its threads) to PERCENT of one core with a
# cgroup CPU quota, so that a benchmark measures it at its own limit rather
# than at the load generator's: on a 2-core machine the one-core load tool
# saturates before a fast server does, and a server with idle time left works
# in smaller batches. Needs root (cgroup v1 "cpu" controller or cgroup v2).
#
#   scripts/cap-cpu.sh PID PERCENT     # e.g. scripts/cap-cpu.sh 1234 60
#   scripts/cap-cpu.sh --remove        # delete the cgroup (after the process ended)
set -euo pipefail
name=switchboard-bench
if [ -d /sys/fs/cgroup/cpu ] && [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
  dir=/sys/fs/cgroup/cpu/$name; v=1
elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  dir=/sys/fs/cgroup/$name; v=2
else
  echo "no cgroup cpu controller found" >&2; exit 1
fi
if [ "${1:-}" = --remove ]; then
  rmdir "$dir" 2>/dev/null || true
  exit 0
fi
pid=${1:?PID}
pct=${2:?PERCENT of one core}
mkdir -p "$dir"
period=10000
quota=$((period * pct / 100))
if [ $v = 1 ]; then
  echo $period >"$dir/cpu.cfs_period_us"
  echo $quota >"$dir/cpu.cfs_quota_us"
  for t in /proc/"$pid"/task/*; do echo "${t##*/}" >"$dir/tasks" 2>/dev/null || true; done
else
  echo "$quota $period" >"$dir/cpu.max"
  echo "$pid" >"$dir/cgroup.procs"
fi
echo "pid $pid capped at $pct% of a core ($dir)"
