using AgentMetrics.Api.Catalog;
using AgentMetrics.Sidecar.Metrics;

namespace AgentMetrics.Sidecar.Bench;

/// <summary>
/// The set of tests/peers/js/bench-set.mjs in our registry: for i in 0..metrics-1 and j in 0..series-1,
/// labels {agent="bench-agent", series="s&lt;j&gt;"}; i%3==0 a 16-bucket histogram observing (j+1)*0.01,
/// (j+1)*0.1 and j+1; i%3==1 a counter increased by j+1; i%3==2 a gauge set to j*1.5.
/// </summary>
internal static class BenchSet
{
    public static readonly double[] Buckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 25, 50];

    public static MetricRegistry Build(int metrics = 1000, int series = 10)
    {
        // agent is an identity label here, as in the sidecar; the others are left empty, which the
        // exposition omits, so each series carries exactly prom-client's two labels.
        var registry = new MetricRegistry([new("agent", "bench-agent")], new MetricLimits { MaxMetrics = metrics });
        string[] labels = ["series"];
        for (var i = 0; i < metrics; i++)
        {
            var type = (i % 3) switch { 0 => MetricType.Histogram, 1 => MetricType.Counter, _ => MetricType.Gauge };
            var family = registry.GetOrDefine(new FamilySpec(
                $"bench_metric_{i}", type, $"Benchmark metric {i}.", null, labels, type == MetricType.Histogram ? Buckets : [], series, FamilyOrigin.Custom))!;
            for (var j = 0; j < series; j++)
            {
                var s = family.GetOrAdd([$"s{j}"])!;
                switch (type)
                {
                    case MetricType.Histogram:
                        s.Observe((j + 1) * 0.01);
                        s.Observe((j + 1) * 0.1);
                        s.Observe(j + 1);
                        break;
                    case MetricType.Counter:
                        s.Add(j + 1);
                        break;
                    default:
                        s.Set(j * 1.5);
                        break;
                }
            }
        }

        return registry;
    }
}
