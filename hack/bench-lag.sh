#!/usr/bin/env bash
# The lag report: end-to-end lag from an agent's event to the value answering a Prometheus instant
# query, p50/p90/p99 over SAMPLES events, in push mode and in scrape mode at a 1 s interval, and to the
# fleet overview's "now" stat, which reads series recorded every 5 s.
# Writes bench/results/lag.md with the command and the machine.
# usage: bench-lag.sh [SAMPLES]
set -euo pipefail
samples=${1:-1000}
out=bench/results/lag.md
bench=bench/AgentMetrics.Sidecar.Bench/bin/Release/net10.0/AgentMetrics.Sidecar.Bench.dll
export AGENT_METRICS_TEST_ROOT=${AGENT_METRICS_BENCH_ROOT:-$(if [ -d /dev/shm ]; then echo /dev/shm; else echo /tmp; fi)/agent-metrics-bench}
figures=$(mktemp)
trap 'hack/reap.sh sweep "$AGENT_METRICS_TEST_ROOT"; rm -f "$figures"' EXIT

dotnet build bench/AgentMetrics.Sidecar.Bench -c Release --nologo -v quiet >/dev/null
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
taskset -c 1 dotnet "$bench" lag-report --samples "$samples" --out "$figures"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "# End-to-end lag: event to queryable"
  echo
  echo "Command: \`make bench-lag\` (runs \`hack/bench-lag.sh $samples\`, which runs"
  echo "\`taskset -c 1 dotnet $bench lag-report --samples $samples --out FILE\`)"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB memory;" \
    "Prometheus $(prometheus --version 2>&1 | awk 'NR==1 {print $3}'); .NET $(dotnet --version); $(date -u +%Y-%m-%d); load average $load_before before, $load_after after."
  echo
  echo "A real sidecar (Release, pinned to core 0) and a real Prometheus. Events set a gauge to 1, 2, 3, …,"
  echo "each 0–40 ms after the previous (at random), so many are in flight as from a busy agent. A poller"
  echo "queries Prometheus back to back; an event is visible at the first answer holding its number or a"
  echo "later one. Lag counts from the event's POST returning to that answer; the first 20 events warm up"
  echo "and are not counted, and counting starts once the 20th is visible (a new Prometheus may scrape"
  echo "its target first seconds after it starts). Target: p99 under 1 s in push mode."
  echo
  echo "The last row is what a dashboard shows: the fleet overview's \"Tasks per second\" stat reads the fleet"
  echo "totals the operator's built-in rules record every 5 s (agentmetrics.builtin.now), which a second"
  echo "Prometheus evaluates from the rule file the operator renders. Each of its samples waits 0–5 s at random,"
  echo "posts one task event, sees the raw counter in Prometheus, then polls until the recorded series the stat"
  echo "reads was evaluated after that (and the stat, as the overview renders it, answers); lag counts from the"
  echo "POST returning. A dashboard refreshing every 5 s (Grafana's default shortest) adds up to 5 s more."
  echo
  cat "$figures"
} >"$out"
echo "wrote $out"
