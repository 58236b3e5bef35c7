using AgentMetrics.Api.Catalog;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Api.Tests;

public sealed class CatalogTests
{
    public static TheoryData<string> Names => [.. BuiltInMetrics.All.Select(m => m.Name)];

    [Fact]
    public void DocsMetricsMdIsGeneratedFromTheCatalog() =>
        Golden.AssertMatches("docs/metrics.md", MetricsDocument.Render());

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryBuiltInMetricIsWellFormed(string name)
    {
        var metric = BuiltInMetrics.Find(name)!;

        Assert.Null(PrometheusNames.CheckMetricName(metric.Name));
        Assert.All(metric.Labels, label => Assert.Null(PrometheusNames.CheckLabelName(label)));
        Assert.Equal(metric.Labels.Count, metric.Labels.Distinct().Count());
        Assert.False(string.IsNullOrWhiteSpace(metric.Help));
        if (metric.Type == MetricType.Histogram)
        {
            var buckets = Assert.IsAssignableFrom<IReadOnlyList<double>>(metric.Buckets);
            Assert.True(buckets.Zip(buckets.Skip(1), (a, b) => a < b).All(x => x), $"{name}: buckets must increase strictly");
            Assert.All(buckets, b => Assert.True(double.IsFinite(b)));
        }
        else
        {
            Assert.Null(metric.Buckets);
        }

        if (metric.Type == MetricType.Counter)
        {
            Assert.False(metric.Name.EndsWith("_total", StringComparison.Ordinal), "the exposition adds _total to counters");
        }

        if (metric.Unit == "seconds")
        {
            Assert.EndsWith("_seconds", metric.Name, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void NamesAreUniqueAndFoundWithOrWithoutACountersTotal()
    {
        Assert.Equal(BuiltInMetrics.All.Count, BuiltInMetrics.All.Select(m => m.Name).Distinct().Count());
        Assert.Same(BuiltInMetrics.Tasks, BuiltInMetrics.Find("agent_tasks_total"));
        Assert.Same(BuiltInMetrics.Tasks, BuiltInMetrics.Find("agent_tasks"));
        Assert.Null(BuiltInMetrics.Find("agent_queue_depth_total"));
    }

    [Fact]
    public void TheGenAiMetricsFollowTheOpenTelemetryConventions()
    {
        Assert.Equal("gen_ai.client.operation.duration", BuiltInMetrics.OperationDuration.Convention);
        Assert.Equal("gen_ai_client_operation_duration_seconds", BuiltInMetrics.OperationDuration.Name);
        Assert.Equal([0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92], BuiltInMetrics.OperationDuration.Buckets);
        Assert.Equal("gen_ai_client_token_usage", BuiltInMetrics.TokenUsage.Name);
        Assert.Equal(67108864, BuiltInMetrics.TokenUsage.Buckets![^1]);
    }

    [Fact]
    public void EveryConventionNameHasItsReleaseAndEveryAliasFeedsABuiltInMetric()
    {
        var conventions = BuiltInMetrics.All.Where(m => m.Convention is not null).Select(m => m.Convention!).ToList();

        Assert.Equal(conventions.Order(), GenAiConventions.Versions.Keys.Order());
        Assert.All(GenAiConventions.MetricAliases, alias =>
        {
            Assert.Contains(alias.Feeds, conventions);
            Assert.DoesNotContain(alias.Name, conventions);
            if (alias.FixedLabel is { } label)
            {
                Assert.Contains(label, BuiltInMetrics.All.Single(m => m.Convention == alias.Feeds).Labels);
            }
        });
        Assert.Equal(GenAiConventions.AttributeAliases.Count, GenAiConventions.AttributeAliases.Select(a => a.Older).Distinct().Count());
    }

    [Theory]
    [InlineData("agent_latency_seconds", null)]
    [InlineData("", "must not be empty")]
    [InlineData("__private", "must not start with \"__\"")]
    [InlineData("job:agent_tasks:rate5m", "reserved for recording rules")]
    [InlineData("9lives", "must match [a-zA-Z_][a-zA-Z0-9_]*")]
    [InlineData("agent-latency", "must match [a-zA-Z_][a-zA-Z0-9_]*")]
    public void MetricNameRules(string name, string? expected)
    {
        var problem = PrometheusNames.CheckMetricName(name);

        if (expected is null)
        {
            Assert.Null(problem);
        }
        else
        {
            Assert.Contains(expected, problem, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("customer_tier", null)]
    [InlineData("le", "reserved by Prometheus")]
    [InlineData("quantile", "reserved by Prometheus")]
    [InlineData("__name__", "must not start with \"__\"")]
    [InlineData("pod", "set by agent-metrics")]
    [InlineData("tier.name", "must match [a-zA-Z_][a-zA-Z0-9_]*")]
    public void LabelNameRules(string name, string? expected)
    {
        var problem = PrometheusNames.CheckLabelName(name);

        if (expected is null)
        {
            Assert.Null(problem);
        }
        else
        {
            Assert.Contains(expected, problem, StringComparison.Ordinal);
        }
    }
}
