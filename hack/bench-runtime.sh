#!/usr/bin/env bash
# Runs the controller-runtime benchmark and writes bench/results/controller-runtime.md:
# the command, the machine, and the figures next to the peer measured in the same run.
set -euo pipefail
count=${1:-5000}
out=bench/results/controller-runtime.md
figures=$(mktemp)
dotnet build bench/AgentMetrics.Kubernetes.Bench -c Release --nologo -v quiet >/dev/null
dotnet bench/AgentMetrics.Kubernetes.Bench/bin/Release/net10.0/AgentMetrics.Kubernetes.Bench.dll "$count" "$figures"
{
  echo "# Controller runtime under load"
  echo
  echo "Command: \`make bench-runtime\` (runs \`hack/bench-runtime.sh $count\`)"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB memory;" \
    "kube-apiserver $("$(cat "${AGENT_METRICS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agent-metrics}/bin-dir")/kube-apiserver" --version | awk '{print $2}')" \
    "with etcd $(etcd --version | awk '/etcd Version/ {print $3}') on tmpfs, all on this machine; .NET $(dotnet --version); $(date -u +%Y-%m-%d)."
  echo
  echo "$count Widgets (a custom kind) are created by 16 concurrent clients as fast as the API server takes them."
  echo "\"Observed\" is the time from just before a create is sent until the object's first reconcile starts (ours)"
  echo "or until kubectl's watch prints it (the peer), both watching the same namespace in the same run."
  echo
  cat "$figures"
} >"$out"
rm -f "$figures"
echo "wrote $out"
