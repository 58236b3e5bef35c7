#!/usr/bin/env bash
# Runs the fleet benchmark and writes bench/results/fleet.md: the command, the machine, the
# operator's figures with 5000 agent pods, 1000 definitions and 5000 definitions streams, and the
# data path's: simulated sidecars pushing into VictoriaMetrics and into Prometheus.
# usage: bench-fleet.sh [PODS] [DEFINITIONS] [NAMESPACES] [FLEETS] [INTERVALS_MS]
set -euo pipefail
pods=${1:-5000}
definitions=${2:-1000}
namespaces=${3:-10}
fleets=${4:-1000,5000}
intervals=${5:-100,1000}
out=bench/results/fleet.md
bench=bench/AgentMetrics.Fleet.Bench/bin/Release/net10.0/AgentMetrics.Fleet.Bench.dll
# The bench's servers keep their logs here, apart from test runs; anything a failed run left is stopped on exit.
export AGENT_METRICS_TEST_ROOT=${AGENT_METRICS_BENCH_ROOT:-$(if [ -d /dev/shm ]; then echo /dev/shm; else echo /tmp; fi)/agent-metrics-bench}
figures=$(mktemp)
delivery=$(mktemp)
trap 'hack/reap.sh sweep "$AGENT_METRICS_TEST_ROOT"; rm -f "$figures" "$delivery"' EXIT

dotnet build bench/AgentMetrics.Fleet.Bench -c Release --nologo -v quiet >/dev/null
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
dotnet "$bench" --pods "$pods" --definitions "$definitions" --namespaces "$namespaces" --out "$figures"
load_middle=$(cut -d' ' -f1-3 /proc/loadavg)
# The data path: this process on core 1, each store pinned to core 0 by the bench.
taskset -c 1 dotnet "$bench" --phase delivery --fleets "$fleets" --intervals "$intervals" --series 100 --seconds 15 --out "$delivery"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "# A fleet of thousands of agents"
  echo
  echo "Command: \`make bench-fleet\` (runs \`hack/bench-fleet.sh $pods $definitions $namespaces\`, which runs"
  echo "\`dotnet $bench --pods $pods --definitions $definitions --namespaces $namespaces --out FILE\` and"
  echo "\`taskset -c 1 dotnet $bench --phase delivery --fleets $fleets --intervals $intervals --series 100 --seconds 15 --out FILE\`)"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB memory;" \
    "kube-apiserver $("$(cat "${AGENT_METRICS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agent-metrics}/bin-dir")/kube-apiserver" --version | awk '{print $2}')" \
    "with etcd on tmpfs, $(dpkg-query -W -f='${Package} ${Version}, ' victoria-metrics prometheus)all on this machine; .NET $(dotnet --version); $(date -u +%Y-%m-%d); load average $load_before before, $load_middle between the phases, $load_after after."
  echo
  echo "The operator runs as its own process (Release build, \`--output=configmaps\`) against a real API server;"
  echo "the API server, etcd, the operator and the stream client share the machine's cores. The pods are API"
  echo "objects with the sidecar in their spec (they do not run); each has a unique label, as a StatefulSet's"
  echo "pods do. Every stream authenticates with its own pod-bound token from the TokenRequest API, checked by"
  echo "TokenReview, and reconnects as the sidecar does (250 ms doubling to 10 s, ±20 % jitter; a Retry-After obeyed)."
  echo
  echo "## The operator"
  echo
  cat "$figures"
  echo
  echo "## The data path"
  echo
  cat "$delivery"
} >"$out"
echo "wrote $out"
