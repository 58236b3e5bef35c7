namespace AgentMetrics.Exposition.Peers;

/// <summary>
/// The bench's metric set, as tests/peers/js/bench-set.mjs defines it: 1000 families, each with 10 series
/// labelled {agent="bench-agent", series="s&lt;j&gt;"}. Family i is a 16-bucket histogram when i % 3 == 0
/// (observing (j+1)·0.01, (j+1)·0.1 and j+1), a counter when i % 3 == 1 (incremented by j+1), and a gauge
/// otherwise (set to j·1.5).
/// </summary>
internal static class BenchSet
{
    public const int Metrics = 1000;
    public const int Series = 10;
    public const string Agent = "bench-agent";

    public static readonly double[] Buckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 25, 50];

    public static readonly string[] LabelNames = ["agent", "series"];

    public static string Name(int i) => $"bench_metric_{i}";

    public static string Help(int i) => $"Benchmark metric {i}.";

    public static string SeriesLabel(int j) => $"s{j}";
}
