using System.Text.Json;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Api.Validation;
using Xunit;

namespace AgentMetrics.Api.Tests;

/// <summary>Each rule, one row: the YAML-ish spec change, the field named, and the words of the message.</summary>
public sealed class ValidationTests
{
    public static TheoryData<string, string, string, string> DefinitionRules => new()
    {
        { "bad grammar", """{"metric":{"name":"refund-amount"}}""", "spec.metric.name", "must match [a-zA-Z_][a-zA-Z0-9_]*" },
        { "reserved prefix", """{"metric":{"name":"__refunds"}}""", "spec.metric.name", "must not start with \"__\"" },
        { "collides with the catalog", """{"metric":{"name":"agent_tasks"}}""", "spec.metric.name", "collides with the built-in metric agent_tasks_total" },
        { "counter ending in _total", """{"metric":{"name":"refunds_total","type":"counter"}}""", "spec.metric.name", "must not end in _total" },
        { "histogram ending in _count", """{"metric":{"name":"refunds_count"}}""", "spec.metric.name", "must not end in _count" },
        { "unknown type", """{"metric":{"type":"summary"}}""", "spec.metric.type", "must be counter, gauge or histogram" },
        { "unsorted buckets", """{"metric":{"buckets":[1,10,5]}}""", "spec.metric.buckets", "must be sorted in increasing order with no duplicates: 5 follows 10" },
        { "duplicate buckets", """{"metric":{"buckets":[1,5,5]}}""", "spec.metric.buckets", "no duplicates: 5 follows 5" },
        { "buckets on a gauge", """{"metric":{"type":"gauge","buckets":[1]}}""", "spec.metric.buckets", "only a histogram has buckets" },
        { "reserved label le", """{"source":{"labels":["le"]}}""", "spec.source.labels[0]", "reserved by Prometheus" },
        { "reserved label quantile", """{"source":{"labels":["tier","quantile"]}}""", "spec.source.labels[1]", "reserved by Prometheus" },
        { "identity label", """{"source":{"labels":["pod"]}}""", "spec.source.labels[0]", "set by agent-metrics" },
        { "bad label grammar", """{"source":{"labels":["tier.name"]}}""", "spec.source.labels[0]", "must match" },
        { "unknown source kind", """{"source":{"kind":"Log"}}""", "spec.source.kind", "must be Event, OtlpMetric or Span" },
        { "series limit out of range", """{"seriesLimit":0}""", "spec.seriesLimit", "must be between 1 and 100000" },
        { "selector operator", """{"selector":{"matchExpressions":[{"key":"app","operator":"Equals","values":["a"]}]}}""", "spec.selector.matchExpressions[0].operator", "must be In, NotIn, Exists or DoesNotExist" },
    };

    public static TheoryData<string, string, string, string> ThresholdRules => new()
    {
        { "NaN threshold", """{"threshold":"NaN"}""", "spec.threshold", "must be a finite number" },
        { "infinite threshold", """{"threshold":"+Inf"}""", "spec.threshold", "must be a finite number" },
        { "non-number threshold", """{"threshold":"high"}""", "spec.threshold", "must be a number" },
        { "for shorter than the evaluation interval", """{"for":"15s","evaluationInterval":"30s"}""", "spec.for", "15s is shorter than the evaluation interval 30s" },
        { "other namespace", """{"metric":"billing/refund_amount_dollars"}""", "spec.metric", "refers to another namespace" },
        { "bad metric name", """{"metric":"le:bad"}""", "spec.metric", "reserved for recording rules" },
        { "percentile of a counter", """{"metric":"agent_errors","statistic":"p99"}""", "spec.statistic", "p99 does not apply to agent_errors, a counter; use rate" },
        { "ratio of another metric", """{"metric":"agent_errors","statistic":"errorRate"}""", "spec.statistic", "use it with metric agent_tasks_total" },
        { "unknown statistic", """{"statistic":"p95"}""", "spec.statistic", "must be one of p50, p90, p99" },
        { "unknown severity", """{"severity":"page"}""", "spec.severity", "must be critical, warning or info" },
        { "unknown comparison", """{"comparison":"Above"}""", "spec.comparison", "must be one of GreaterThan" },
        { "bad duration", """{"window":"5 minutes"}""", "spec.window", "must be a Prometheus duration" },
        { "both modes", """{"anomaly":{"deviations":3}}""", "spec", "set exactly one of threshold" },
        { "label set by agent-metrics", """{"labels":{"severity":"page"}}""", "spec.labels.severity", "set by agent-metrics" },
        { "reserved label", """{"labels":{"__team":"x"}}""", "spec.labels.__team", "must not start with \"__\"" },
        { "relative runbook", """{"runbookUrl":"wiki/agents"}""", "spec.runbookUrl", "must be an absolute URL" },
        { "threshold label", """{"labels":{"threshold":"other"}}""", "spec.labels.threshold", "set by agent-metrics" },
        { "percentile above the largest bucket bound", """{"threshold":500}""", "spec.threshold", "500 is above 409.6, the largest finite bucket bound of agent_task_duration_seconds" },
        { "negative minimum deviation", """{"threshold":null,"anomaly":{"minimumDeviation":-1}}""", "spec.anomaly.minimumDeviation", "must be a finite number of at least 0" },
        { "a ratio anomaly that cannot fire", """{"metric":"agent_tasks_total","statistic":"errorRate","threshold":null,"anomaly":{"deviations":4,"minimumDeviation":0.3}}""", "spec.anomaly.deviations", "more than a ratio can move, which is at most 1" },
        { "trend without a threshold", """{"threshold":null,"anomaly":{"deviations":3},"trend":{"horizon":"1h"}}""", "spec.trend", "goes with threshold" },
        { "trend horizon", """{"trend":{"horizon":"soon"}}""", "spec.trend.horizon", "must be a Prometheus duration above 0" },
        { "trend fit over one evaluation", """{"trend":{"fitWindow":"30s"},"evaluationInterval":"30s"}""", "spec.trend.fitWindow", "a line needs at least two points" },
    };

    [Fact]
    public void ADefinitionSerializesOnlyTheFieldsItsCrdDeclares()
    {
        var json = JsonSerializer.Serialize(Definition("{}"), ApiJsonContext.Default.AgentMetricDefinition);

        var metric = JsonDocument.Parse(json).RootElement.GetProperty("spec").GetProperty("metric");
        Assert.Equal(["name", "type", "help", "buckets"], metric.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void TheBaseDefinitionIsValid() =>
        Assert.Empty(DefinitionValidator.Validate(Definition("{}"), ValidationContext.Empty));

    [Fact]
    public void TheBaseThresholdIsValid() =>
        Assert.Empty(ThresholdValidator.Validate(Threshold("{}"), ValidationContext.Empty));

    [Theory]
    [MemberData(nameof(DefinitionRules))]
    public void ADefinitionBreakingARuleIsRefusedNamingTheFieldAndTheRule(string rule, string change, string field, string message)
    {
        var errors = DefinitionValidator.Validate(Definition(change), ValidationContext.Empty);

        Assert.True(errors.Any(e => e.Field == field && e.Message.Contains(message, StringComparison.Ordinal)), $"{rule}: got [{string.Join("; ", errors)}]");
    }

    [Theory]
    [MemberData(nameof(ThresholdRules))]
    public void AThresholdBreakingARuleIsRefusedNamingTheFieldAndTheRule(string rule, string change, string field, string message)
    {
        var errors = ThresholdValidator.Validate(Threshold(change), ValidationContext.Empty);

        Assert.True(errors.Any(e => e.Field == field && e.Message.Contains(message, StringComparison.Ordinal)), $"{rule}: got [{string.Join("; ", errors)}]");
    }

    [Fact]
    public void ANameAlreadyDefinedWithAnotherTypeForTheSameAgentsIsRefused()
    {
        var existing = Definition("""{"metric":{"type":"gauge"}}""", name: "existing");
        var pods = new List<(string, IReadOnlyDictionary<string, string>)> { ("agent-0", new Dictionary<string, string> { ["app"] = "support" }) };

        var errors = DefinitionValidator.Validate(Definition("{}"), new ValidationContext { Definitions = [existing], Pods = pods });

        var error = Assert.Single(errors);
        Assert.Equal("spec.metric.name", error.Field);
        Assert.Contains("already a gauge for agent pod agent-0, defined by AgentMetricDefinition existing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AConflictIsTheNewerDefinitionsFaultSoAddingOneNeverInvalidatesAnOlderOne()
    {
        var older = Definition("""{"metric":{"type":"gauge","buckets":null}}""", name: "older");
        older.Metadata.CreationTimestamp = DateTimeOffset.Parse("2026-11-21T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var newer = Definition("{}", name: "newer");
        newer.Metadata.CreationTimestamp = older.Metadata.CreationTimestamp.Value.AddSeconds(1);
        var context = new ValidationContext { Definitions = [older, newer] };

        Assert.Empty(DefinitionValidator.Validate(older, context));
        Assert.Contains(DefinitionValidator.Validate(newer, context), e => e.Message.Contains("defined by AgentMetricDefinition older", StringComparison.Ordinal));
    }

    [Fact]
    public void TheSameNameWithTheSameTypeOrForOtherAgentsIsAllowed()
    {
        var sameType = Definition("{}", name: "same-type");
        var otherAgents = Definition("""{"metric":{"type":"gauge"},"selector":{"matchLabels":{"app":"billing"}}}""", name: "other-agents");
        var pods = new List<(string, IReadOnlyDictionary<string, string>)>
        {
            ("agent-0", new Dictionary<string, string> { ["app"] = "support" }),
            ("billing-0", new Dictionary<string, string> { ["app"] = "billing" }),
        };

        Assert.Empty(DefinitionValidator.Validate(Definition("{}"), new ValidationContext { Definitions = [sameType, otherAgents], Pods = pods }));
    }

    [Fact]
    public void MoreThanAThousandMetricsOnOneAgentIsRefused()
    {
        var pods = new List<(string, IReadOnlyDictionary<string, string>)> { ("agent-0", new Dictionary<string, string> { ["app"] = "support" }) };
        var builtIn = Catalog.BuiltInMetrics.All.Count;
        var full = Enumerable.Range(0, ValidationContext.MaxMetricsPerAgent - builtIn)
            .Select(i => Definition($"{{\"metric\":{{\"name\":\"custom_{i}\"}}}}", name: $"d{i}")).ToList();

        var errors = DefinitionValidator.Validate(Definition("{}"), new ValidationContext { Definitions = full, Pods = pods });
        var fits = DefinitionValidator.Validate(full[0], new ValidationContext { Definitions = full, Pods = pods });

        var error = Assert.Single(errors);
        Assert.Equal("spec.selector", error.Field);
        Assert.Contains($"would then have 1001 metrics ({builtIn} built-in and {1001 - builtIn} defined); at most 1000", error.Message, StringComparison.Ordinal);
        Assert.Empty(fits);
    }

    [Theory]
    [InlineData("90s", 90_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("500ms", 500)]
    [InlineData("1d", 86_400_000)]
    [InlineData("2w", 1_209_600_000)]
    public void PrometheusDurationsParse(string text, long milliseconds)
    {
        Assert.True(PrometheusDuration.TryParse(text, out var duration));
        Assert.Equal(milliseconds, (long)duration.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("m5")]
    [InlineData("5m1h")]
    [InlineData("1.5h")]
    [InlineData("99999999y")]
    [InlineData("99999999999999999999d")]
    public void NonDurationsDoNotParse(string text) => Assert.False(PrometheusDuration.TryParse(text, out _));

    internal static AgentMetricDefinition Definition(string change, string name = "refunds")
    {
        var baseSpec = new JsonObjectMerger("""
            {"selector":{"matchLabels":{"app":"support"}},
             "metric":{"name":"refund_amount_dollars","type":"histogram","help":"Refund granted per task.","buckets":[1,5,10,50]},
             "source":{"kind":"Event","name":"refund_granted","valueField":"amount","labels":["reason"]}}
            """).With(change);
        var definition = new AgentMetricDefinition
        {
            Metadata = new() { Name = name, Namespace = "support" },
            Spec = JsonSerializer.Deserialize(baseSpec, ApiJsonContext.Default.AgentMetricDefinitionSpec)!,
        };
        return definition;
    }

    internal static AlertThreshold Threshold(string change)
    {
        var baseSpec = new JsonObjectMerger("""
            {"metric":"agent_task_duration_seconds","statistic":"p99","comparison":"GreaterThan","threshold":2.5,
             "window":"5m","for":"2m","evaluationInterval":"30s","severity":"warning"}
            """).With(change);
        return new AlertThreshold
        {
            Metadata = new() { Name = "slow", Namespace = "support" },
            Spec = JsonSerializer.Deserialize(baseSpec, ApiJsonContext.Default.AlertThresholdSpec)!,
        };
    }
}
