using AgentMetrics.Api.Catalog;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Rendering.Tests;

/// <summary>
/// promtool test rules: each case renders some thresholds (and, where it says so, the built-in rules)
/// into one rule file and runs promtool's unit tests on it. The input series and what must fire, with
/// which labels and texts, are in promtool/NAME.test.yaml.
/// </summary>
public sealed class PromtoolRuleTests
{
    /// <summary>The thresholds of one case, rendered together, as two teams' objects would be in one Prometheus.</summary>
    private sealed record RuleCase(bool BuiltIn, params (string Namespace, string Name, string Spec)[] Thresholds);

    private static readonly Dictionary<string, RuleCase> All = new()
    {
        ["p99-threshold"] = new(false, ("support", "slow", """{"labels":{"team":"support"},"summary":"slow tasks","description":"tasks are slow"}""")),
        ["error-rate"] = new(false, ("support", "errors", """{"metric":"agent_tasks_total","statistic":"errorRate","threshold":0.05,"window":"5m","for":"2m","summary":"tasks fail","description":"d"}""")),
        ["completion-rate"] = new(false, ("support", "completion", """{"metric":"agent_tasks_total","statistic":"completionRate","comparison":"LessThan","threshold":0.9,"severity":"critical","summary":"few tasks complete","description":"d"}""")),
        ["gauge-value"] = new(false, ("support", "queue", """{"metric":"agent_queue_depth","statistic":"value","threshold":50,"summary":"queue deep","description":"d"}""")),
        ["counter-rate"] = new(false, ("support", "escalating", """{"metric":"agent_escalations_total","statistic":"rate","threshold":0.5,"summary":"escalating","description":"d"}""")),
        ["histogram-average"] = new(false, ("support", "costly", """{"metric":"agent_task_cost_dollars","statistic":"average","threshold":0.25,"summary":"tasks cost too much","description":"d"}""")),
        ["anomaly"] = new(false, ("support", "spend", """{"metric":"agent_task_tokens_total","statistic":"rate","threshold":null,"anomaly":{"deviations":3,"baselineWindow":"1h"},"for":"2m","summary":"spend anomaly","description":"d"}""")),

        // Two teams, each with thresholds of the same names: each alert judges its own namespace's agents only.
        ["namespace-isolation"] = new(
            false,
            ("support", "slow", """{"labels":{"team":"support"},"summary":"slow tasks","description":"d"}"""),
            ("billing", "slow", """{"labels":{"team":"billing"},"summary":"slow tasks","description":"d"}"""),
            ("support", "spend", """{"metric":"agent_task_tokens_total","statistic":"rate","threshold":null,"anomaly":{"deviations":3,"baselineWindow":"1h"},"for":"2m","labels":{"team":"support"},"summary":"spend anomaly","description":"d"}"""),
            ("billing", "spend", """{"metric":"agent_task_tokens_total","statistic":"rate","threshold":null,"anomaly":{"deviations":3,"baselineWindow":"1h"},"for":"2m","labels":{"team":"billing"},"summary":"spend anomaly","description":"d"}""")),

        // The built-in fleet outlier scores, on fleets of 2, 3, 6, 10 and 50 agents, with one outlier and with none.
        ["fleet-score"] = new(true),

        // The built-in fleet totals of the overview's "now" panels, per namespace and outcome.
        ["now-totals"] = new(true),

        // The built-in hourly increases per agent version, which the report sums over a period.
        ["hourly-increases"] = new(true),

        // A sustained step against the agent's own baseline still fires when the alert must wait 10m.
        ["anomaly-sustained"] = new(false, ("support", "spend", """{"metric":"agent_task_tokens_total","statistic":"rate","threshold":null,"anomaly":{"deviations":3,"baselineWindow":"1h"},"window":"5m","for":"10m","summary":"spend anomaly","description":"d"}""")),

        // Percentile thresholds on bucket bounds, the largest finite one included, are exact.
        ["percentile-bounds"] = new(
            false,
            ("support", "top", """{"threshold":409.6,"summary":"s","description":"d"}"""),
            ("support", "bound", """{"threshold":1.6,"summary":"s","description":"d"}"""),
            ("support", "upper", """{"threshold":3.2,"summary":"s","description":"d"}""")),

        // The generated summary and description: the metric's value with its unit, the threshold, the agent and the namespace.
        ["alert-texts"] = new(
            false,
            ("support", "errors", """{"metric":"agent_tasks_total","statistic":"errorRate","threshold":0.05,"window":"5m","for":"2m"}"""),
            ("support", "slow", """{"threshold":5,"window":"5m","for":"2m"}"""),
            ("support", "costly", """{"metric":"agent_task_cost_dollars","statistic":"average","threshold":0.25,"window":"5m","for":"2m"}"""),
            ("support", "escalating", """{"metric":"agent_escalations_total","statistic":"rate","threshold":0.5,"window":"5m","for":"2m"}"""),
            ("support", "queue", """{"metric":"agent_queue_depth","statistic":"value","threshold":null,"anomaly":{"deviations":3,"baselineWindow":"1h"},"window":"5m","for":"2m"}""")),

        // Trend mode: the line fitted over the last 15m passes the threshold within 30m.
        ["trend"] = new(false, ("support", "queue-filling-up", """{"metric":"agent_queue_depth","statistic":"value","threshold":50,"trend":{"horizon":"30m","fitWindow":"15m"},"for":"5m"}""")),
    };

    public static TheoryData<string> Cases => [.. All.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task TheRulesBehaveAsTheCaseSays(string testFile)
    {
        var @case = All[testFile];
        var groups = new List<RuleGroup>();
        if (@case.BuiltIn)
        {
            groups.AddRange(RuleRenderer.BuiltIn());
        }

        foreach (var (@namespace, name, spec) in @case.Thresholds)
        {
            var threshold = RuleRendererTests.Threshold(name, spec, @namespace);
            Assert.Empty(Api.Validation.ThresholdValidator.Validate(threshold, Api.Validation.ValidationContext.Empty));
            groups.Add(RuleRenderer.ForThreshold(threshold, Metric(threshold)));
        }

        var rules = RuleFile.Render(groups);
        var directory = ProcessRegistry.Current.CreateDirectory($"promtool-{testFile}");
        await File.WriteAllTextAsync(Path.Combine(directory, "rules.yaml"), rules);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "promtool", $"{testFile}.test.yaml"), Path.Combine(directory, "test.yaml"));

        var (exitCode, output) = await Promtool.RunAsync(directory, null, "test", "rules", "test.yaml");

        Assert.True(exitCode == 0, $"{output}\n--- rules.yaml ---\n{(@case.BuiltIn ? "(built-in rules)" : rules)}");
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    private static MetricSpec Metric(AlertThreshold threshold) => BuiltInMetrics.Find(threshold.Spec.Metric)!;
}
