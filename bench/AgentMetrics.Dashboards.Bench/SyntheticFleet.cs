using System.Buffers;
using System.Net.Http.Headers;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Sidecar.Delivery;
using AgentMetrics.Sidecar.Metrics;

namespace AgentMetrics.Dashboards.Bench;

/// <summary>
/// A fleet's history, as its sidecars would have delivered it: one pod per agent, each the sidecar's own
/// MetricRegistry (the built-in families and, in namespace "agents", the custom
/// metrics of config/samples' definitions; of the sidecar's own metrics only the one a dashboard reads) plus its
/// pod's cAdvisor container series. Every scrape interval
/// of the history each agent finishes a few tasks, whose outcomes, durations, cost, tokens and model calls
/// are recorded through the registry; the state is then written at that time through the sidecar's
/// remote-write encoder, every series at one timestamp before the next, so a fresh Prometheus takes it in order.
/// </summary>
public sealed class SyntheticFleet
{
    /// <summary>The namespace the sample definitions and thresholds live in.</summary>
    public const string SampleNamespace = "agents";

    /// <summary>Namespaces the fleet is spread over, the sample one first.</summary>
    public static readonly string[] Namespaces = [SampleNamespace, .. Enumerable.Range(1, 9).Select(i => $"team-{i:D2}")];

    private const int SamplesPerRequest = 20000;

    /// <summary>The one series of the sidecar's own metrics a dashboard reads (pods reporting); the others are left out of the history to keep it quick to write.</summary>
    private const string PodsReportingSeries = "agent_metrics_sidecar_series";
    private static readonly string[] Outcomes = ["success", "failure", "timeout"];
    private static readonly string[] Containers = ["agent", "agent-metrics-sidecar"];
    private readonly List<Pod> _pods;

    /// <summary>Builds <paramref name="agents"/> agents, spread over <see cref="Namespaces"/>.</summary>
    public SyntheticFleet(int agents, IReadOnlyList<AgentMetricDefinition> definitions)
    {
        _pods = [.. Enumerable.Range(0, agents).Select(i => new Pod(i, definitions))];
    }

    /// <summary>The name of agent <paramref name="index"/>.</summary>
    public static string AgentName(int index) => $"agent-{index:D5}";

    /// <summary>The name of agent <paramref name="index"/>'s one pod.</summary>
    public static string PodName(int index) => $"{AgentName(index)}-0";

    /// <summary>Series the fleet holds at the end of the history (each histogram bucket, sum and count one series).</summary>
    public long SeriesCount { get; private set; }

    /// <summary>Samples written.</summary>
    public long SamplesWritten { get; private set; }

    /// <summary>Writes the history from <paramref name="from"/> to <paramref name="to"/>, one state every <paramref name="interval"/>.</summary>
    public async Task WriteAsync(Uri remoteWrite, DateTimeOffset from, DateTimeOffset to, TimeSpan interval)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        var step = 0;
        for (var t = from; t <= to; t += interval, step++)
        {
            foreach (var pod in _pods)
            {
                pod.Advance(interval, step);
            }

            var bodies = Encode(t.ToUnixTimeMilliseconds(), t + interval > to);
            // The requests of one timestamp go out together; the next timestamp's only after, so each series stays in order.
            await Parallel.ForEachAsync(bodies, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (body, cancel) =>
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
                content.Headers.ContentEncoding.Add("snappy");
                content.Headers.Add("X-Prometheus-Remote-Write-Version", "0.1.0");
                using var response = await http.PostAsync(remoteWrite, content, cancel);
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"remote write refused: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancel)}");
                }
            });
        }
    }

    private List<byte[]> Encode(long timestampMs, bool last)
    {
        var bodies = new List<byte[]>();
        var request = new ArrayBufferWriter<byte>(256 * 1024);
        var samples = 0;
        foreach (var pod in _pods)
        {
            // An encoder per registry, as each carries its own identity labels; a WriteRequest's time series
            // are a repeated field, so the encoded parts of several registries concatenate into one request.
            foreach (var (registry, encoder) in pod.Registries.Zip(pod.Encoders))
            {
                encoder.Reset();
                foreach (var family in registry.Families)
                {
                    if (family.Spec.Origin == FamilyOrigin.Self && family.Name != PodsReportingSeries)
                    {
                        continue;
                    }

                    foreach (var series in family.Series)
                    {
                        encoder.Add(series, timestampMs);
                    }
                }

                request.Write(encoder.Written);
                samples += encoder.Samples;
            }

            if (samples >= SamplesPerRequest || pod == _pods[^1])
            {
                // Series come into being as their labels first occur (a rarer outcome, an error type): counted at the end.
                if (last)
                {
                    SeriesCount += samples;
                }

                SamplesWritten += samples;
                bodies.Add(IronSnappy.Snappy.Encode(request.WrittenSpan));
                request.ResetWrittenCount();
                samples = 0;
            }
        }

        return bodies;
    }

    /// <summary>One agent's pod: its sidecar's registry and its containers' cAdvisor series.</summary>
    private sealed class Pod
    {
        private readonly Random _random;
        private readonly double _tasksPerSecond;
        private readonly double _slowness;
        private readonly MetricRegistry _sidecar;
        private readonly MetricFamily[] _custom;
        private readonly Series[] _cpu;
        private readonly Series[] _memory;

        public Pod(int index, IReadOnlyList<AgentMetricDefinition> definitions)
        {
            _random = new Random(index);
            var @namespace = Namespaces[index % Namespaces.Length];
            var agent = AgentName(index);
            var pod = PodName(index);
            // Agents differ in load, and one in fifty is slow: the outliers the dashboards pick out.
            _tasksPerSecond = 0.1 + (0.5 * _random.NextDouble());
            _slowness = index % 50 == 7 ? 4 : 1;
            _sidecar = new MetricRegistry(
                [new("namespace", @namespace), new("pod", pod), new("agent", agent), new("agent_version", index % 4 == 0 ? "v2" : "v1")]);
            _sidecar.DefineBuiltIns();
            _sidecar.Self.DefinitionsInEffect.Set(@namespace == SampleNamespace ? definitions.Count : 0);
            _custom = @namespace == SampleNamespace
                ? [.. definitions.Select(d => _sidecar.GetOrDefine(FamilySpec.FromCatalog(MetricCatalog.Resolve(d.Spec.Metric.Name, definitions)!, 1000) with { Origin = FamilyOrigin.Custom })!)]
                : [];
            var cadvisor = new MetricRegistry([new("namespace", @namespace), new("pod", pod)]);
            var cpu = cadvisor.GetOrDefine(new FamilySpec("container_cpu_usage_seconds", MetricType.Counter, "cAdvisor CPU.", null, ["container"], [], 10, FamilyOrigin.Custom))!;
            var memory = cadvisor.GetOrDefine(new FamilySpec("container_memory_working_set_bytes", MetricType.Gauge, "cAdvisor memory.", null, ["container"], [], 10, FamilyOrigin.Custom))!;
            _cpu = [.. Containers.Select(c => cpu.GetOrAdd([c])!)];
            _memory = [.. Containers.Select(c => memory.GetOrAdd([c])!)];
            Registries = [_sidecar, cadvisor];
            Encoders = [.. Registries.Select(r => new RemoteWriteEncoder(r.IdentityPairs))];
        }

        public MetricRegistry[] Registries { get; }

        public RemoteWriteEncoder[] Encoders { get; }

        /// <summary>What the agent did during one interval.</summary>
        public void Advance(TimeSpan interval, int step)
        {
            var family = (string name) => _sidecar.Find(name)!;
            var mean = _tasksPerSecond * interval.TotalSeconds;
            var tasks = _random.Next(0, (int)(2 * mean) + 2);
            for (var i = 0; i < tasks; i++)
            {
                var roll = _random.NextDouble();
                var outcome = roll < 0.93 ? Outcomes[0] : roll < 0.98 ? Outcomes[1] : Outcomes[2];
                family(BuiltInMetrics.Tasks.Name).GetOrAdd([outcome, "support"])!.Add(1);
                family(BuiltInMetrics.TaskDuration.Name).GetOrAdd([outcome, "support"])!.Observe(_slowness * LogNormal(1.5, 0.6));
                family(BuiltInMetrics.TaskCost.Name).GetOrAdd(["support"])!.Observe(LogNormal(0.02, 0.5));
                var input = (int)LogNormal(1500, 0.4);
                family(BuiltInMetrics.TaskTokens.Name).GetOrAdd(["input", "gpt-4o"])!.Add(input);
                family(BuiltInMetrics.TaskTokens.Name).GetOrAdd(["output", "gpt-4o"])!.Add(input / 4);
                family(BuiltInMetrics.OperationDuration.Name).GetOrAdd(["chat", "openai", "gpt-4o", ""])!.Observe(LogNormal(0.8, 0.5));
                if (outcome != "success")
                {
                    family(BuiltInMetrics.Errors.Name).GetOrAdd([outcome == "timeout" ? "timeout" : "tool_error"])!.Add(1);
                }

                if (_random.NextDouble() < 0.05)
                {
                    family(BuiltInMetrics.Handoffs.Name).GetOrAdd(["success", "billing", "true"])!.Add(1);
                }

                if (_random.NextDouble() < 0.02)
                {
                    family(BuiltInMetrics.Escalations.Name).GetOrAdd(["policy"])!.Add(1);
                }

                foreach (var custom in _custom)
                {
                    var series = custom.GetOrAdd([.. custom.Spec.Labels!.Select(_ => "a")])!;
                    switch (custom.Type)
                    {
                        case MetricType.Counter: series.Add(1); break;
                        case MetricType.Histogram: series.Observe(LogNormal(40, 0.8)); break;
                        default: series.Set(_random.NextDouble()); break;
                    }
                }
            }

            family(BuiltInMetrics.TasksInFlight.Name).GetOrAdd([])!.Set(_random.Next(0, 4));
            family(BuiltInMetrics.QueueDepth.Name).GetOrAdd([])!.Set(_random.Next(0, 10));
            _sidecar.Self.Received("event", tasks);
            foreach (var (cpu, memory) in _cpu.Zip(_memory))
            {
                cpu.Add(interval.TotalSeconds * 0.05 * _random.NextDouble());
                memory.Set(100e6 + (1e6 * (step % 10)));
            }
        }

        private double LogNormal(double median, double sigma)
        {
            // Box-Muller: one standard normal from two uniforms.
            var normal = Math.Sqrt(-2 * Math.Log(1 - _random.NextDouble())) * Math.Cos(2 * Math.PI * _random.NextDouble());
            return median * Math.Exp(sigma * normal);
        }
    }
}
