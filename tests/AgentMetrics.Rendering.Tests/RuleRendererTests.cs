using System.Text.Json.Nodes;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Rendering.Tests;

public sealed class RuleRendererTests
{
    [Fact]
    public async Task TheSamplesRenderToTheGoldenRuleFileAndPromtoolAcceptsIt()
    {
        var definitions = Samples.Definitions();
        var groups = new List<RuleGroup>(RuleRenderer.BuiltIn());
        groups.AddRange(definitions.Select(RuleRenderer.ForDefinition));
        groups.AddRange(Samples.Thresholds().Select(t => RuleRenderer.ForThreshold(t, Samples.MetricOf(t.Spec.Metric, definitions))));
        var rendered = RuleFile.Render(groups);

        Golden.AssertMatches("tests/AgentMetrics.Rendering.Tests/golden/samples.rules.yaml", rendered);
        var directory = ProcessRegistry.Current.CreateDirectory("promtool-check");
        await File.WriteAllTextAsync(Path.Combine(directory, "rules.yaml"), rendered);
        var (exitCode, output) = await Promtool.RunAsync(directory, null, "check", "rules", "rules.yaml");
        Assert.True(exitCode == 0, output);
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    [Fact]
    public void LabelAndAnnotationValuesNeverBecomeStructure()
    {
        var threshold = Threshold("hostile", """{"labels":{"team":"a\"\n  injected: yes"},"summary":"line one\n- alert: Evil","runbookUrl":"https://x.example/\"]"}""");

        var yaml = RuleFile.Render([RuleRenderer.ForThreshold(threshold, BuiltInMetrics.TaskDuration)]);

        var rules = YamlJson.Parse(yaml)!["groups"]![0]!["rules"]!.AsArray();
        var alert = rules.Single(r => r!["alert"] is not null)!;
        Assert.Equal(["severity", "threshold", "team"], alert["labels"]!.AsObject().Select(p => p.Key));
        Assert.Equal("a\"\n  injected: yes", alert["labels"]!["team"]!.GetValue<string>());
        Assert.Equal("line one\n- alert: Evil", alert["annotations"]!["summary"]!.GetValue<string>());
        Assert.Single(rules, r => r!["alert"] is not null);
    }

    [Fact]
    public void AgentNamesAreEscapedInsideTheRegexMatcher()
    {
        var threshold = Threshold("named", """{"agents":["support.agent","billing"]}""");

        var statistic = RuleRenderer.ForThreshold(threshold, BuiltInMetrics.TaskDuration).Rules[0].Expr;

        Assert.Contains("agent=~\"support\\\\.agent|billing\"", statistic, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(30.0, "spec.threshold 30s lies between the bucket bounds 25.6s and 51.2s of agent_task_duration_seconds")]
    [InlineData(0.05, "spec.threshold 50ms lies between the bucket bounds 0s and 100ms of agent_task_duration_seconds")]
    [InlineData(25.6, null)]
    [InlineData(409.6, null)]
    public void APercentileThresholdOffTheBucketBoundsIsNamedAnEstimate(double threshold, string? note)
    {
        var spec = Threshold("slow", $$"""{"threshold":{{threshold.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}""").Spec;

        var approximation = ThresholdNotes.Approximation(spec, BuiltInMetrics.TaskDuration);

        if (note is null)
        {
            Assert.Null(approximation);
        }
        else
        {
            Assert.StartsWith(note, approximation, StringComparison.Ordinal);
            Assert.EndsWith("set spec.threshold to one of them for an exact alert", approximation, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void AnAnomalyThresholdSaysWhatItsBaselineIsAndHowMuchHistoryItNeeds()
    {
        var spec = Threshold("spend", """{"threshold":null,"anomaly":{"baselineWindow":"1d"},"window":"5m","for":"10m"}""").Spec;

        Assert.Equal(
            "the baseline is the 1d before the last 15m (spec.window + spec.for), so the alert can fire once 1d15m of the statistic is recorded",
            ThresholdNotes.History(spec));
        Assert.Null(ThresholdNotes.History(Threshold("slow", "{}").Spec));
    }

    [Fact]
    public void ACustomHistogramsEstimateSaysToAddTheThresholdToItsBuckets()
    {
        var spec = Threshold("refunds", """{"metric":"refund_amount_dollars","threshold":120}""").Spec;
        var definition = Samples.Definitions().Single(d => d.Spec.Metric.Name == "refund_amount_dollars");

        var approximation = ThresholdNotes.Approximation(spec, Samples.MetricOf("refund_amount_dollars", [definition]));

        Assert.Contains("add $120 to the buckets of the AgentMetricDefinition of refund_amount_dollars", approximation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("support-p99-latency", "SupportP99Latency")]
    [InlineData("task.error_rate", "TaskErrorRate")]
    [InlineData("5xx-errors", "Alert5xxErrors")]
    public void AlertNamesAreTheThresholdNameInUpperCamelCase(string name, string expected) =>
        Assert.Equal(expected, RuleRenderer.AlertName(name));

    internal static AlertThreshold Threshold(string name, string change, string @namespace = "support")
    {
        var spec = JsonNode.Parse("""
            {"metric":"agent_task_duration_seconds","statistic":"p99","comparison":"GreaterThan","threshold":5,
             "window":"5m","for":"1m","evaluationInterval":"30s","severity":"warning"}
            """)!.AsObject();
        foreach (var (key, value) in JsonNode.Parse(change)!.AsObject().ToList())
        {
            spec[key] = value?.DeepClone();
        }

        return new AlertThreshold
        {
            Metadata = new() { Name = name, Namespace = @namespace },
            Spec = System.Text.Json.JsonSerializer.Deserialize(spec, ApiJsonContext.Default.AlertThresholdSpec)!,
        };
    }
}
