using AgentMetrics.Api.Catalog;
using AgentMetrics.Sidecar.Metrics;
using Xunit;

namespace AgentMetrics.Sidecar.Tests;

public class ExpositionTests
{
    private static MetricRegistry Registry() => new([new("namespace", "demo"), new("pod", "p")]);

    [Fact]
    public void Sample_values_print_as_the_shortest_round_trip_text_whole_numbers_and_short_decimals_included()
    {
        var random = new Random(7);
        double[] edges = [0, -0.0, 1, -1, 1.5, 0.1, 1e14, 1e15 - 1, 1e15, -1e15, 1e16, 123456789012345, double.Epsilon, double.MaxValue, -4503599627370496];
        double[] decimals = [0.001, -0.001, 0.0015, 0.3, 0.1 + 0.2, 0.7, 99.95, 1.1 * 3, 123456789.123456, 999999999.999999, 0.000999, 1e9 + 0.5, 2.675];
        var values = edges.Concat(decimals).Concat(Enumerable.Range(0, 4000).Select(i => (i % 4) switch
        {
            0 => Math.Floor((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(0, 17))),
            1 => (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-5, 20)),
            // A few decimal places, as seconds, prices and their sums have.
            2 => random.NextInt64(-10_000_000_000, 10_000_000_000) / Math.Pow(10, random.Next(1, 8)),
            _ => (random.Next(1, 1000) * 0.01) + (random.Next(1, 1000) * 0.1),
        }));
        Span<byte> buffer = stackalloc byte[64];
        foreach (var value in values)
        {
            var written = AgentMetrics.Sidecar.Exposition.ExpositionWriter.FormatDouble(value, buffer);
            Assert.Equal(value.ToString("R", System.Globalization.CultureInfo.InvariantCulture), System.Text.Encoding.ASCII.GetString(buffer[..written]));
        }
    }

    [Fact]
    public void Text_format_writes_one_help_and_type_per_family_and_cumulative_buckets()
    {
        var registry = Registry();
        var counter = registry.GetOrDefine(new FamilySpec("jobs", MetricType.Counter, "Jobs done.\nSecond line \\ here.", null, ["kind"], [], 10, FamilyOrigin.Custom))!;
        counter.GetOrAdd(["a"])!.Add(2);
        counter.GetOrAdd(["b"])!.Add(0.5);
        var histogram = registry.GetOrDefine(new FamilySpec("latency_seconds", MetricType.Histogram, "Latency.", "seconds", [], [0.1, 1], 10, FamilyOrigin.Custom))!;
        var series = histogram.GetOrAdd([])!;
        series.Observe(0.05);
        series.Observe(0.5);
        series.Observe(0.7);
        series.Observe(5);

        var text = Scrape(registry, openMetrics: false);

        Assert.Equal(
            """
            # HELP jobs_total Jobs done.\nSecond line \\ here.
            # TYPE jobs_total counter
            jobs_total{namespace="demo",pod="p",kind="a"} 2
            jobs_total{namespace="demo",pod="p",kind="b"} 0.5
            # HELP latency_seconds Latency.
            # TYPE latency_seconds histogram
            latency_seconds_bucket{namespace="demo",pod="p",le="0.1"} 1
            latency_seconds_bucket{namespace="demo",pod="p",le="1"} 3
            latency_seconds_bucket{namespace="demo",pod="p",le="+Inf"} 4
            latency_seconds_count{namespace="demo",pod="p"} 4
            latency_seconds_sum{namespace="demo",pod="p"} 6.25

            """.Replace("\r", "", StringComparison.Ordinal),
            SelfFree(text));
    }

    [Fact]
    public void Series_without_identity_or_own_labels_print_bare_names_and_only_the_labels_they_have()
    {
        var registry = new MetricRegistry([]);
        var plain = registry.GetOrDefine(new FamilySpec("plain", MetricType.Gauge, "P.", null, [], [], 10, FamilyOrigin.Custom))!;
        plain.GetOrAdd([])!.Set(-2.5);
        var labelled = registry.GetOrDefine(new FamilySpec("labelled", MetricType.Gauge, "L.", null, ["k"], [], 10, FamilyOrigin.Custom))!;
        labelled.GetOrAdd(["v"])!.Set(1);
        labelled.GetOrAdd([""])!.Set(2);
        var histogram = registry.GetOrDefine(new FamilySpec("h", MetricType.Histogram, "H.", null, ["k"], [0.5], 10, FamilyOrigin.Custom))!;
        histogram.GetOrAdd([""])!.Observe(0.25);
        histogram.GetOrAdd(["v"])!.Observe(0.75);

        var text = SelfFree(Scrape(registry, openMetrics: false));

        Assert.Equal(
            """
            # HELP plain P.
            # TYPE plain gauge
            plain -2.5
            # HELP labelled L.
            # TYPE labelled gauge
            labelled{k="v"} 1
            labelled 2
            # HELP h H.
            # TYPE h histogram
            h_bucket{le="0.5"} 1
            h_bucket{le="+Inf"} 1
            h_count 1
            h_sum 0.25
            h_bucket{k="v",le="0.5"} 0
            h_bucket{k="v",le="+Inf"} 1
            h_count{k="v"} 1
            h_sum{k="v"} 0.75

            """.Replace("\r", "", StringComparison.Ordinal),
            text);
    }

    [Fact]
    public void OpenMetrics_names_families_without_total_declares_units_and_ends_with_eof()
    {
        var registry = Registry();
        registry.GetOrDefine(new FamilySpec("agent_tokens", MetricType.Counter, "Say \"hi\".", "tokens", [], [], 10, FamilyOrigin.Custom))!.GetOrAdd([])!.Add(3);

        var text = Scrape(registry, openMetrics: true);

        Assert.Contains("# TYPE agent_tokens counter\n# UNIT agent_tokens tokens\n# HELP agent_tokens Say \\\"hi\\\".\nagent_tokens_total{namespace=\"demo\",pod=\"p\"} 3\n", text, StringComparison.Ordinal);
        Assert.EndsWith("# EOF\n", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(1e21, "1E+21")]
    [InlineData(-0.000001, "-1E-06")]
    [InlineData(0.1, "0.1")]
    public void Special_and_extreme_values_are_spelled_as_the_formats_require(double value, string expected)
    {
        var registry = Registry();
        registry.GetOrDefine(new FamilySpec("g", MetricType.Gauge, "G.", null, [], [], 10, FamilyOrigin.Custom))!.GetOrAdd([])!.Set(value);

        Assert.Contains($"g{{namespace=\"demo\",pod=\"p\"}} {expected}\n", Scrape(registry, false), StringComparison.Ordinal);
    }

    [Fact]
    public void Label_values_escape_backslash_quote_and_newline_and_keep_unicode()
    {
        var registry = Registry();
        registry.GetOrDefine(new FamilySpec("g", MetricType.Gauge, "G.", null, ["v"], [], 10, FamilyOrigin.Custom))!
            .GetOrAdd(["a\\b\"c\nd ü 日本"])!.Set(1);

        Assert.Contains("g{namespace=\"demo\",pod=\"p\",v=\"a\\\\b\\\"c\\nd ü 日本\"} 1\n", Scrape(registry, false), StringComparison.Ordinal);
    }

    [Fact]
    public void Series_keep_their_creation_order_from_one_scrape_to_the_next()
    {
        var registry = Registry();
        var family = registry.GetOrDefine(new FamilySpec("g", MetricType.Gauge, "G.", null, ["v"], [], 100, FamilyOrigin.Custom))!;
        foreach (var v in new[] { "z", "a", "m" })
        {
            family.GetOrAdd([v])!.Set(1);
        }

        var first = Scrape(registry, false);
        family.GetOrAdd(["a"])!.Set(2);
        var second = Scrape(registry, false);

        Assert.True(first.IndexOf("v=\"z\"", StringComparison.Ordinal) < first.IndexOf("v=\"a\"", StringComparison.Ordinal));
        Assert.Equal(first.Replace("v=\"a\"} 1", "v=\"a\"} 2", StringComparison.Ordinal), second);
    }

    [Fact]
    public void Empty_label_values_are_left_out_as_prometheus_treats_them_as_absent()
    {
        var registry = Registry();
        registry.GetOrDefine(new FamilySpec("g", MetricType.Gauge, "G.", null, ["a", "b"], [], 10, FamilyOrigin.Custom))!.GetOrAdd(["", "x"])!.Set(1);

        Assert.Contains("g{namespace=\"demo\",pod=\"p\",b=\"x\"} 1\n", Scrape(registry, false), StringComparison.Ordinal);
    }

    private static string Scrape(MetricRegistry registry, bool openMetrics)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        Exposition.ExpositionWriter.Write(registry, openMetrics, buffer);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The exposition without the sidecar's own families, which every registry carries.</summary>
    private static string SelfFree(string text)
    {
        var kept = new List<string>();
        var skipping = false;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var name = line.Split(' ')[2];
                skipping = name.StartsWith("agent_metrics_sidecar_", StringComparison.Ordinal) || name.StartsWith("process_", StringComparison.Ordinal) || name.StartsWith("dotnet_", StringComparison.Ordinal);
            }

            if (!skipping)
            {
                kept.Add(line);
            }
        }

        return string.Join('\n', kept);
    }
}
