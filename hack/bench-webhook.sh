#!/usr/bin/env bash
# Runs the injection webhook benchmark and writes bench/results/webhook.md: the command, the machine,
# and the figures beside the baseline (/healthz on the same server) measured in the same run.
# usage: bench-webhook.sh [RATE] [SECONDS]
set -euo pipefail
rate=${1:-200}
seconds=${2:-30}
out=bench/results/webhook.md
bench=bench/AgentMetrics.Operator.Bench/bin/Release/net10.0/AgentMetrics.Operator.Bench.dll
# The bench's servers keep their logs here, apart from test runs; anything a failed run left is stopped on exit.
export AGENT_METRICS_TEST_ROOT=${AGENT_METRICS_BENCH_ROOT:-$(if [ -d /dev/shm ]; then echo /dev/shm; else echo /tmp; fi)/agent-metrics-bench}
figures=$(mktemp)
trap 'hack/reap.sh sweep "$AGENT_METRICS_TEST_ROOT"; rm -f "$figures"' EXIT

dotnet build bench/AgentMetrics.Operator.Bench -c Release --nologo -v quiet >/dev/null
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
taskset -c 1 dotnet "$bench" --rate "$rate" --seconds "$seconds" --flips 10 --out "$figures"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "# Injection webhook latency"
  echo
  echo "Command: \`make bench-webhook\` (runs \`hack/bench-webhook.sh $rate $seconds\`, which runs"
  echo "\`taskset -c 1 dotnet $bench --rate $rate --seconds $seconds --flips 10 --out FILE\`)"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB memory;" \
    "kube-apiserver $("$(cat "${AGENT_METRICS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agent-metrics}/bin-dir")/kube-apiserver" --version | awk '{print $2}')" \
    "with etcd on tmpfs, all on this machine; .NET $(dotnet --version); $(date -u +%Y-%m-%d); load average $load_before before, $load_after after."
  echo
  echo "The operator runs as its own process (Release build, pinned to core 0) against a real API server, as"
  echo "deployed; the load generator sends AdmissionReviews for a ReplicaSet's pod (two containers, env,"
  echo "resources, owner reference) on a fixed schedule, and each latency counts from the request's scheduled"
  echo "time to the last byte of the answer, so queueing shows. Target: p99 under 10 ms at 200 admissions/s."
  echo
  cat "$figures"
} >"$out"
echo "wrote $out"
