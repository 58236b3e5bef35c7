using AgentMetrics.Api.Catalog;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Rendering.Tests;

/// <summary>
/// promtool test rules, per alert kind: each rendered alert fires when its input crosses the line
/// and resolves when it comes back. The input series and expectations are in promtool/*.test.yaml.
/// </summary>
public sealed class PromtoolRuleTests
{
    public static TheoryData<string, string, string, string> Cases => new()
    {
        {
            "p99-threshold", "slow", "Histogram",
            """{"labels":{"team":"support"},"summary":"slow tasks","description":"tasks are slow"}"""
        },
        {
            "error-rate", "errors", "Counter",
            """{"metric":"agent_tasks_total","statistic":"errorRate","threshold":0.05,"window":"5m","for":"2m","summary":"tasks fail","description":"d"}"""
        },
        {
            "completion-rate", "completion", "Counter",
            """{"metric":"agent_tasks_total","statistic":"completionRate","comparison":"LessThan","threshold":0.9,"severity":"critical","summary":"few tasks complete","description":"d"}"""
        },
        {
            "gauge-value", "queue", "Gauge",
            """{"metric":"agent_queue_depth","statistic":"value","threshold":50,"summary":"queue deep","description":"d"}"""
        },
        {
            "counter-rate", "escalating", "Counter",
            """{"metric":"agent_escalations_total","statistic":"rate","threshold":0.5,"summary":"escalating","description":"d"}"""
        },
        {
            "histogram-average", "costly", "Histogram",
            """{"metric":"agent_task_cost_dollars","statistic":"average","threshold":0.25,"summary":"tasks cost too much","description":"d"}"""
        },
        {
            "anomaly", "spend", "Counter",
            """{"metric":"agent_task_tokens_total","statistic":"rate","threshold":null,"anomaly":{"deviations":3,"baselineWindow":"1h"},"for":"2m","summary":"spend anomaly","description":"d"}"""
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task TheAlertFiresWhenItShouldAndResolvesWhenItShould(string testFile, string name, string type, string spec)
    {
        var threshold = RuleRendererTests.Threshold(name, spec);
        Assert.Empty(Api.Validation.ThresholdValidator.Validate(threshold, Api.Validation.ValidationContext.Empty));
        var rules = RuleFile.Render([RuleRenderer.ForThreshold(threshold, Enum.Parse<MetricType>(type))]);
        var directory = ProcessRegistry.Current.CreateDirectory($"promtool-{testFile}");
        await File.WriteAllTextAsync(Path.Combine(directory, "rules.yaml"), rules);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "promtool", $"{testFile}.test.yaml"), Path.Combine(directory, "test.yaml"));

        var (exitCode, output) = await Promtool.RunAsync(directory, null, "test", "rules", "test.yaml");

        Assert.True(exitCode == 0, $"{output}\n--- rules.yaml ---\n{rules}");
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }
}
