#!/usr/bin/env bash
# Runs the sidecar benchmarks and writes bench/results/sidecar.md: the commands, the machine, and each
# figure beside its target and its peer measured in the same run.
#   micro   BenchmarkDotNet: recording (OpenTelemetry .NET SDK as baseline) and exposition of 1000 x 10
#   peer    prom-client-bench.mjs: prom-client's exposition of the same set
#   load    the Release sidecar pinned to core 0, this side on core 1: events/s, OTLP points/s, VmRSS
#   lag     push mode to a real Prometheus: POST returns -> instant query sees the value, p50/p99
#   scrape  /metrics end to end over HTTP, uncompressed and gzip, beside prometheus-net, the OpenTelemetry
#           SDK's Prometheus exporter and prom-client holding the same set
# usage: bench-sidecar.sh [LAG_SAMPLES]
set -euo pipefail
samples=${1:-1000}
out=bench/results/sidecar.md
bench=bench/AgentMetrics.Sidecar.Bench/bin/Release/net10.0/AgentMetrics.Sidecar.Bench.dll
# The bench's servers keep their logs here, apart from test runs; anything a failed run left is stopped on exit.
export AGENT_METRICS_TEST_ROOT=${AGENT_METRICS_BENCH_ROOT:-$(if [ -d /dev/shm ]; then echo /dev/shm; else echo /tmp; fi)/agent-metrics-bench}
work=$(mktemp -d)
trap 'hack/reap.sh sweep "$AGENT_METRICS_TEST_ROOT"; rm -rf "$work"' EXIT

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
dotnet build bench/AgentMetrics.Sidecar.Bench -c Release --nologo -v quiet >/dev/null
# The load, memory and lag runs measure the sidecar as it ships: one executable compiled ahead of time (NativeAOT).
dotnet publish src/Sidecar -c Release -r linux-x64 --nologo -v quiet -o artifacts/sidecar >/dev/null
export AGENT_METRICS_SIDECAR=$PWD/artifacts/sidecar/agent-metrics-sidecar
# The baseline for start-up and idle memory: the same code as the trimmed ReadyToRun build it shipped as before.
dotnet publish src/Sidecar -c Release -r linux-x64 --nologo -v quiet --artifacts-path "$work/readytorun-build" \
  -p:PublishAot=false -o "$work/readytorun" >/dev/null
export AGENT_METRICS_SIDECAR_BASELINE=$work/readytorun/agent-metrics-sidecar
[ -d tests/peers/js/node_modules ] || (cd tests/peers/js && npm ci --no-audit --no-fund >/dev/null)

cmd_micro="dotnet $bench micro --aot --artifacts \$WORK/bdn"
cmd_peer="node --expose-gc tests/peers/js/prom-client-bench.mjs --iterations 300 --warmup 50 --heap-samples 50"
cmd_load="taskset -c 1 dotnet $bench load --connections 4 --seconds 10 --out \$WORK/load.json"
cmd_lag="taskset -c 1 dotnet $bench lag --samples $samples --out \$WORK/lag.json"
cmd_scrape="taskset -c 1 dotnet $bench scrape --warmup 50 --scrapes 300 --out \$WORK/scrape.json"

echo "==> micro-benchmarks"
dotnet "$bench" micro --aot --artifacts "$work/bdn" | grep -E '^\| |bytes per scrape' || true
echo "==> prom-client exposition (peer)"
node --expose-gc tests/peers/js/prom-client-bench.mjs --iterations 300 --warmup 50 --heap-samples 50 >"$work/prom-client.json"
cat "$work/prom-client.json"
echo "==> load runs"
taskset -c 1 dotnet "$bench" load --connections 4 --seconds 10 --out "$work/load.json"
echo "==> lag run"
taskset -c 1 dotnet "$bench" lag --samples "$samples" --out "$work/lag.json" | tail -1
echo "==> scrapes end to end"
taskset -c 1 dotnet "$bench" scrape --warmup 50 --scrapes 300 --out "$work/scrape.json"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

dotnet "$bench" report --artifacts "$work/bdn" --prom-client "$work/prom-client.json" \
  --load "$work/load.json" --lag "$work/lag.json" --scrape "$work/scrape.json" --scrape-table "$work/scrape.md" --out "$work/figures.md"
bytes=$(cat "$work"/bdn/*.log 2>/dev/null | grep -o 'bytes per scrape: [A-Za-z]* [0-9]*' | sort -u | sed 's/bytes per scrape: //' | paste -sd, - | sed 's/,/, /g' || true)

{
  echo "# Sidecar performance"
  echo
  echo "Command: \`make bench-sidecar\` (runs \`hack/bench-sidecar.sh $samples\`), which builds Release and runs, with \`WORK\` a temporary directory:"
  echo
  echo '```sh'
  echo "$cmd_micro"
  echo "$cmd_peer"
  echo "$cmd_load"
  echo "$cmd_lag"
  echo "$cmd_scrape"
  echo '```'
  echo
  echo "Machine: $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}'), $(nproc) cores," \
    "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) memory; .NET $(dotnet --version); Node $(node --version);" \
    "$(prometheus --version 2>&1 | head -1 | awk '{print $1, $3}'); $(date -u +%Y-%m-%d)."
  echo "Load average (1, 5, 15 min) $load_before before the run and $load_after after it: the machine is shared with other"
  echo "builds and tests, so absolute figures drift; each is measured beside its peer in the same run."
  echo
  echo "## Figures"
  echo
  cat "$work/figures.md"
  echo
  echo "How each is measured:"
  echo
  echo "- **a.** BenchmarkDotNet 0.15.8, MemoryDiagnoser, 5 warm-up and 20 measured iterations, compiled with NativeAOT as the sidecar ships (its NativeAOT toolchain, the SDK's ILCompiler), the OpenTelemetry baseline too; rows c to g run the published NativeAOT sidecar. Three labels, existing series;"
  echo "  \"GetOrAdd(key)\" looks the series up by a cached \`string[3]\` on every call. The baseline is the OpenTelemetry .NET SDK 1.15.3:"
  echo "  \`Counter<long>.Add\` / \`Histogram<double>.Record\` with a \`TagList\` of three tags, the histogram given the same 16 bounds by a View,"
  echo "  in a MeterProvider whose periodic reader (60 s) exports to an exporter that discards. Histogram values cycle through 16 values spread over the buckets."
  echo "- **b.** \`ExpositionWriter.Write\` of the set of \`tests/peers/js/bench-set.mjs\` (1000 families: 334 16-bucket histograms, 333 counters,"
  echo "  333 gauges; 10 series each) into a reused \`ArrayBufferWriter\`. Bytes per scrape: ${bytes:-see the log}; prom-client writes"
  echo "  $(sed -E 's/.*"bytesPerScrape":([0-9]+).*/\1/' "$work/prom-client.json") (our exposition also carries the sidecar's own metrics)."
  echo "  The peer is prom-client 15.1.3's \`await registry.metrics()\` on the same set (prom-client-bench.mjs); its heap figure is V8 used-heap growth, not an allocation counter."
  echo "- **c, d.** The sidecar as it ships (published as one NativeAOT executable, \`make publish-sidecar\`; workstation, non-concurrent GC with a 4 MiB gen0 budget, as its project sets) pinned with \`taskset -c 0\`, the"
  echo "  sender with \`taskset -c 1\`: 4 connections post back to back, 5 s warm-up, 10 s counted; only 2xx answers without a partial-success body count."
  echo "  Events: 1000 task events per POST over 12 series. OTLP: 200 monotonic sums × 10 points per POST, one stream set per connection"
  echo "  (cumulative values grow each round and wrap every 32 rounds, which the sidecar reads as a reset), and the same with delta temporality."
  echo "  The peer is the sidecar's own HTTP server on the same core, reading each body and throwing it away: the rate HTTP alone allows."
  echo "  \"cores used\" is the sidecar's CPU time over the counted window."
  echo "- **e.** VmRSS from \`/proc/PID/status\`. Idle: a fresh sidecar 5 s after /readyz; the baseline is the same code published as the trimmed"
  echo "  ReadyToRun build it shipped as before (\`dotnet publish -p:PublishAot=false\`). Start: from just before the"
  echo "  process is started (through \`bash -c exec\` and \`taskset\`, as every server here) until a plain socket's \`GET /readyz\`, tried every millisecond,"
  echo "  answers 200; 10 fresh processes of each build. Set: 1000 metrics (the default \`--max-metrics\`, which counts"
  echo "  the built-in ones; the rest are OTLP pass-through metrics shaped like bench-set.mjs: cumulative 16-bucket histograms, cumulative sums and"
  echo "  gauges, 10 points each), re-sent as fast as the sidecar takes them from 2 connections for 10 s while /metrics is scraped once a second with Prometheus' headers (gzip accepted);"
  echo "  VmRSS sampled every 100 ms. The peer is \`prom-client-serve.mjs\` holding the same set, pinned the same way, scraped once a second."
  echo "- **f.** The sidecar in push mode (\`--push-interval\` left at its 100 ms default) remote-writing to Prometheus with \`--web.enable-remote-write-receiver\`."
  echo "  Each sample: wait 0–100 ms at random (so events land anywhere in the push cycle), POST \`{\"type\":\"gauge\",\"queue_depth\":N}\`, then"
  echo "  query \`agent_queue_depth == N\` back to back until it answers; 20 warm-up samples are not counted. Interleaved with each sample, the"
  echo "  peer: the bench remote-writes \`bench_direct_gauge\` = N straight to the same Prometheus and polls the same way, which is what"
  echo "  Prometheus and the polling add. One instant query took $(sed -nE 's/.*"queryMs": ([0-9]+\.[0-9]{2}).*/\1/p' "$work/lag.json") ms on average."
  echo "- **g.** Scrapes as Prometheus makes them: one kept-alive connection, Prometheus' own \`Accept\` (OpenMetrics first) and"
  echo "  \`Accept-Encoding: gzip\` (left out for the uncompressed row), the body read to its last byte and not decoded; 50 warm-up and 300"
  echo "  measured scrapes, each server pinned to core 0 and the scraper on core 1; time from the request to the body's last byte; CPU"
  echo "  per scrape is the server's CPU time over the measured scrapes (clock ticks of 10 ms, so about ±0.03 ms). Every server holds"
  echo "  the set of bench-set.mjs. The sidecar gets it over OTLP and, like for like, without its identity labels (its series carry"
  echo "  \`series\` and \`service_name\`, the peers' \`agent\` and \`series\`); the rows \"with its identity labels\" are the shape it has in"
  echo "  a pod, where namespace, pod, agent and agent_version on every line double the text. The peers: prometheus-net 8.2.1's"
  echo "  \`KestrelMetricServer\` on a registry of its own, the OpenTelemetry .NET SDK 1.20's Prometheus exporter on its HttpListener"
  echo "  (response cache off, so each scrape renders, as at a real interval; the SDK adds \`otel_scope_name\` to every line), and"
  echo "  prom-client 15.1.3 (\`prom-client-serve.mjs\`). None of the three compresses; gzip is the sidecar's, at zlib's fastest level."
  echo
  echo "## Scrapes end to end"
  echo
  cat "$work/scrape.md"
  echo
  echo "## BenchmarkDotNet tables"
  for table in "$work"/bdn/results/*-report-github.md; do
    echo
    # BenchmarkDotNet HTML-escapes method names even in its GitHub tables.
    sed -n '/^|/,$p' "$table" | sed -e "s/&#39;/'/g" -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&quot;/"/g' -e 's/&amp;/\&/g'
  done
  echo
  echo "## prom-client-bench.mjs output"
  echo
  echo '```json'
  cat "$work/prom-client.json"
  echo '```'
  echo
  echo "## Load and lag figures as measured"
  echo
  echo '```json'
  cat "$work/load.json"
  echo
  cat "$work/lag.json"
  echo
  echo '```'
} >"$out"
echo "wrote $out"
