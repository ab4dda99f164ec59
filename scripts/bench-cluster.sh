#!/usr/bin/env bash
# Cluster benchmark: N edges (default 3) on one adapter, broadcasts triggered
# from outside by a service command (P.cmd.emit on NATS), clients spread
# over the edges. Servers (edges, NATS, Redis) are pinned to core 0, the
# load tool to core 1; server CPU is summed over all of them.
#
#   scripts/bench-cluster.sh ADAPTER CLIENTS [loadtest broadcast flags...]
#   scripts/bench-cluster.sh redis 5000 -rate 10 -duration 10s
#   scripts/bench-cluster.sh nats 1000 -duration 10s          # max rate
#
# Environment: EDGES (3), BASE_PORT (4400), NATS_PORT (14322), REDIS_PORT (16479).
set -euo pipefail
cd "$(dirname "$0")/.."

adapter=${1:?adapter: redis or nats}
clients=${2:?number of clients}
shift 2
edges=${EDGES:-3}
base=${BASE_PORT:-4400}
nats_port=${NATS_PORT:-14322}
redis_port=${REDIS_PORT:-16479}
dir=$(mktemp -d /tmp/switchboard-bench.XXXXXX)
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

go build -o "$dir/switchboard" ./cmd/switchboard
go build -o "$dir/loadtest" ./internal/loadtest/cmd/loadtest
ulimit -n 20000

nats_bin=$(command -v nats-server || true)
if [ -z "$nats_bin" ]; then
  echo "nats-server not found (apt-get install nats-server)" >&2
  exit 1
fi
taskset -c 0 "$nats_bin" -a 127.0.0.1 -p "$nats_port" >"$dir/nats.log" 2>&1 &
pids+=($!)
server_pids=$!
taskset -c 0 redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "$dir" >"$dir/redis.log" 2>&1 &
pids+=($!)
if [ "$adapter" = redis ]; then server_pids="$server_pids,$!"; fi
sleep 0.5

urls=()
for i in $(seq 1 "$edges"); do
  port=$((base + i))
  taskset -c 0 "$dir/switchboard" edge --addr "127.0.0.1:$port" --node-id "bench$i" \
    --nats-url "nats://127.0.0.1:$nats_port" --redis-url "redis://127.0.0.1:$redis_port" \
    --adapter "$adapter" --presence memory --demo-handlers --log-level warn >"$dir/edge$i.log" 2>&1 &
  pids+=($!)
  server_pids="$server_pids,$!"
  urls+=("http://127.0.0.1:$port")
done
for u in "${urls[@]}"; do
  for _ in $(seq 1 100); do
    curl -fs "$u/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
done

IFS=,
echo "adapter=$adapter edges=$edges clients=$clients servers(pids)=$server_pids"
taskset -c 1 "$dir/loadtest" broadcast -clients "$clients" -url "${urls[*]}" -pid "$server_pids" \
  -trigger-nats "nats://127.0.0.1:$nats_port" "$@"
