#!/usr/bin/env bash
# The dashboards at fleet size: every query of every dashboard against a real Prometheus holding an
# hour of a synthetic fleet's raw and recorded series, for each fleet size; time p50/p99 and samples
# per query, beside the unbounded p99-by-agent query the overview used to draw.
# Writes bench/results/dashboards.md with the command and the machine.
# usage: bench-dashboards.sh [AGENTS] [REPETITIONS] [MINUTES]
#   AGENTS: comma-separated fleet sizes; MINUTES: the range the queries cover (60, an hour, by default)
set -euo pipefail
agents=${1:-50,500,5000}
repetitions=${2:-10}
minutes=${3:-60}
out=bench/results/dashboards.md
bench=bench/AgentMetrics.Dashboards.Bench/bin/Release/net10.0/AgentMetrics.Dashboards.Bench.dll
# The bench's Prometheus keeps its data here, apart from test runs; anything a failed run left is stopped on exit.
export AGENT_METRICS_TEST_ROOT=${AGENT_METRICS_BENCH_ROOT:-$(if [ -d /dev/shm ]; then echo /dev/shm; else echo /tmp; fi)/agent-metrics-bench}
figures=$(mktemp)
trap 'hack/reap.sh sweep "$AGENT_METRICS_TEST_ROOT"; rm -f "$figures"' EXIT

dotnet build bench/AgentMetrics.Dashboards.Bench -c Release --nologo -v quiet >/dev/null
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)
dotnet "$bench" --agents "$agents" --repetitions "$repetitions" --minutes "$minutes" --out "$figures"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "# Dashboards at fleet size"
  echo
  echo "Command: \`hack/bench-dashboards.sh $agents $repetitions $minutes\` (\`make bench-dashboards\` runs it with 50,500,5000 10 60), which runs"
  echo "\`dotnet $bench --agents $agents --repetitions $repetitions --minutes $minutes --out FILE\`; the run took $(( $(date +%s) - started )) s."
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB memory, shared;" \
    "Prometheus $(prometheus --version 2>&1 | awk 'NR==1 {print $3}') (its default query limits: 50M samples, 2 min); .NET $(dotnet --version); $(date -u +%Y-%m-%d); load average $load_before before, $load_after after."
  echo
  echo "For each fleet size a new Prometheus holds $minutes minutes (and 6 more) of history: the raw series of one pod per"
  echo "agent, as its sidecar delivers them (the sidecar's own MetricRegistry and remote-write encoder: built-in"
  echo "families, the custom metrics of config/samples in namespace \`agents\`, and of the sidecar's own metrics only"
  echo "\`agent_metrics_sidecar_series\`, the one a dashboard reads, to keep the history quick to write) and two"
  echo "cAdvisor container series, every 15 s, over 10 namespaces; each agent finishes 0.1–0.6 tasks a second (one"
  echo "in fifty four times slower). Then every recording rule the operator renders for config/samples (built-in,"
  echo "per definition, per threshold) is backfilled over the range by \`promtool tsdb create-blocks-from rules\` at"
  echo "its group's interval, in passes, since a rule that reads another's series needs that one's blocks loaded."
  echo
  echo "Each query is sent as Grafana sends it for a $minutes-minute view on a 1920-pixel screen: a range query over the"
  echo "range at the panel's step (\`\$__interval\`: the range over the panel's width in pixels, rounded as Grafana"
  echo "rounds, no shorter than the panel's min interval or the datasource's 15 s scrape interval), or an instant"
  echo "query where the panel is instant; \`\$__rate_interval\` = max(\$__interval + scrape interval, 4 × scrape"
  echo "interval); \"All\" as \`.*\`; the detail dashboard for \`agent-00000\` in \`agents\`, its repeated anomaly"
  echo "band as one query over every threshold (\`\$anomaly\` = \`.*\`); \`\$topn\` = 10. The history dashboard's"
  echo "queries are measured over the same range, not its default 90 days. One untimed run reads the samples"
  echo "(\`stats=all\`: totalQueryableSamples) and series, then $repetitions timed runs, one query at a time, wall time"
  echo "through the HTTP API with the answer read (3 runs for a query whose first took over 3 s). Target at 5000 agents:"
  echo "every query's p99 under 500 ms and under 5M samples. The baseline row is the overview's p99 by agent as it"
  echo "was before it was bounded: \`histogram_quantile\` over every raw bucket of the fleet, one line per agent."
  echo
  cat "$figures"
} >"$out"
echo "wrote $out"
