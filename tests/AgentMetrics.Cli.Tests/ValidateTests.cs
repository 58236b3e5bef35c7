using System.Text;
using System.Text.Json.Nodes;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Api.Validation;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Cli.Tests;

/// <summary>
/// validate, run as the built program: one case per rule of the validators the webhook and the
/// reconcilers use, pointing at the line to fix; the rules across objects; standard input, a kustomize
/// build and a List; --output json; and the exit codes.
/// </summary>
public sealed class ValidateTests
{
    private const string Definition = """
        apiVersion: agentmetrics.io/v1alpha1
        kind: AgentMetricDefinition
        metadata:
          name: refunds
        spec:
          selector:
            matchLabels:
              app: support-agent
          metric:
            name: refund_amount_dollars
            type: histogram
            help: Refund granted per task.
            buckets: [1, 5, 10]
          source:
            kind: Event
            name: refund
            labels: [reason]
          seriesLimit: 200
        """;

    private const string Threshold = """
        apiVersion: agentmetrics.io/v1alpha1
        kind: AlertThreshold
        metadata:
          name: slow
        spec:
          metric: agent_task_duration_seconds
          statistic: p99
          threshold: 5
          window: 5m
          for: 1m
          evaluationInterval: 30s
          severity: warning
        """;

    /// <summary>Each row breaks one rule: the line it changes (marked "# &lt;-") and the field and rule expected there.</summary>
    public static TheoryData<string, string, string, string> Rules => new()
    {
        { "metric name", Definition, "    name: refund_amount_dollars", "    name: refund-amount # <-|spec.metric.name: must match" },
        { "built-in name", Definition, "    name: refund_amount_dollars", "    name: agent_tasks # <-|collides with the built-in metric" },
        { "metric type", Definition, "    type: histogram\n    help: Refund granted per task.\n    buckets: [1, 5, 10]", "    type: summary # <-\n    help: Refund granted per task.|spec.metric.type: must be counter, gauge or histogram, got \"summary\"" },
        { "counter _total", Definition, "    name: refund_amount_dollars\n    type: histogram\n    help: Refund granted per task.\n    buckets: [1, 5, 10]", "    name: refunds_total # <-\n    type: counter\n    help: Refund granted per task.|spec.metric.name: a counter's name must not end in _total" },
        { "histogram _bucket", Definition, "    name: refund_amount_dollars", "    name: refund_bucket # <-|spec.metric.name: a histogram's name must not end in _bucket" },
        { "empty help", Definition, "    help: Refund granted per task.", "    help: \"\" # <-|spec.metric.help: must not be empty" },
        { "buckets on a gauge", Definition, "    type: histogram\n    help: Refund granted per task.\n    buckets: [1, 5, 10]", "    type: gauge\n    help: Refund granted per task.\n    buckets: [1, 5, 10] # <-|spec.metric.buckets: only a histogram has buckets" },
        { "unsorted buckets", Definition, "    buckets: [1, 5, 10]", "    buckets: [1, 10, 5] # <-|spec.metric.buckets: must be sorted in increasing order" },
        { "source kind", Definition, "    kind: Event", "    kind: Log # <-|spec.source.kind: must be Event, OtlpMetric or Span, got \"Log\"" },
        { "source name", Definition, "    name: refund\n", "    name: \"\" # <-\n|spec.source.name: must name the event" },
        { "label twice", Definition, "    labels: [reason]", "    labels:\n    - reason\n    - reason # <-|spec.source.labels[1]: \"reason\" is listed twice" },
        { "selector operator", Definition, "    matchLabels:\n      app: support-agent", "    matchExpressions:\n    - key: app\n      operator: Like # <-\n      values: [a]|spec.selector.matchExpressions[0].operator: must be In, NotIn, Exists or DoesNotExist" },
        { "In without values", Definition, "    matchLabels:\n      app: support-agent", "    matchExpressions:\n    - key: app\n      operator: In\n      values: [] # <-|spec.selector.matchExpressions[0].values: must not be empty with operator In" },
        { "series limit", Definition, "  seriesLimit: 200", "  seriesLimit: 0 # <-|spec.seriesLimit: must be between 1 and 100000, got 0" },
        { "schema type", Definition, "  seriesLimit: 200", "  seriesLimit: lots # <-|spec.seriesLimit: must be an integer" },
        { "no name", Definition, "  name: refunds", "  name: \"\" # <-|metadata.name: must be set" },
        { "apiVersion", Definition, "agentmetrics.io/v1alpha1", "agentmetrics.io/v2 # <-|apiVersion: must be agentmetrics.io/v1alpha1" },
        { "other namespace's metric", Threshold, "  metric: agent_task_duration_seconds", "  metric: billing/agent_task_duration_seconds # <-|spec.metric: \"billing/agent_task_duration_seconds\" refers to another namespace" },
        { "statistic", Threshold, "  statistic: p99", "  statistic: p95 # <-|spec.statistic: must be one of p50, p90, p99" },
        { "statistic for the type", Threshold, "  statistic: p99", "  statistic: value # <-|spec.statistic: " },
        { "comparison", Threshold, "  threshold: 5", "  threshold: 5\n  comparison: Above # <-|spec.comparison: must be one of GreaterThan" },
        { "severity", Threshold, "  severity: warning", "  severity: page # <-|spec.severity: must be critical, warning or info, got \"page\"" },
        { "threshold not a number", Threshold, "  threshold: 5", "  threshold: five # <-|spec.threshold: must be a number, got \"five\"" },
        { "window", Threshold, "  window: 5m", "  window: 5 minutes # <-|spec.window: must be a Prometheus duration" },
        { "for shorter than an evaluation", Threshold, "  for: 1m", "  for: 10s # <-|spec.for: 10s is shorter than the evaluation interval 30s" },
        { "own label", Threshold, "  severity: warning", "  severity: warning\n  labels:\n    severity: page # <-|spec.labels.severity: \"severity\" is set by agent-metrics" },
        { "runbook", Threshold, "  severity: warning", "  severity: warning\n  runbookUrl: wiki/slow # <-|spec.runbookUrl: must be an absolute URL" },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public async Task EachRuleIsReportedAtTheLineOfItsField(string rule, string valid, string replace, string withAndExpected)
    {
        var (with, expected) = (withAndExpected.Split('|')[0], withAndExpected.Split('|')[1]);
        Assert.Contains(replace, valid, StringComparison.Ordinal);
        var yaml = "# " + rule + "\n" + valid.Replace(replace, with, StringComparison.Ordinal) + "\n";
        var file = Write($"{rule.Replace(' ', '-')}.yaml", yaml);
        var name = rule is "no name" ? "" : valid == Definition ? "refunds" : "slow";
        var kind = valid == Definition ? "AgentMetricDefinition" : "AlertThreshold";

        var result = await Plugin.RunAsync(["validate", file]);

        Assert.True(result.ExitCode == 1, $"exit {result.ExitCode}: {result.Stdout}{result.Stderr}");
        var line = Assert.Single(result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"{file}:{Plugin.MarkedLine(yaml)}: {kind}/{name}: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSamplesAreValidAndOtherKindsArePassedOver()
    {
        var result = await Plugin.RunAsync(["validate", RepoPaths.Combine("config", "samples") + "/", RepoPaths.Combine("config", "manager")]);

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.Equal("", result.Stdout);
        Assert.Contains($"{Directory.GetFiles(RepoPaths.Combine("config", "samples")).Length} object(s) checked: 0 error(s), 0 warning(s)", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OneMetricNameWithTwoTypesIsTheLaterDefinitionsError()
    {
        var yaml = Definition + "\n---\n" + Definition.Replace("name: refunds", "name: refunds-gauge", StringComparison.Ordinal)
            .Replace("    name: refund_amount_dollars", "    name: refund_amount_dollars # <-", StringComparison.Ordinal)
            .Replace("type: histogram", "type: gauge", StringComparison.Ordinal)
            .Replace("    buckets: [1, 5, 10]\n", "", StringComparison.Ordinal) + "\n";
        var file = Write("two-types.yaml", yaml);

        var result = await Plugin.RunAsync(["validate", file]);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(
            $"{file}:{Plugin.MarkedLine(yaml)}: AgentMetricDefinition/refunds-gauge: spec.metric.name: \"refund_amount_dollars\" is already a histogram for agent pod labelled app=support-agent, defined by AgentMetricDefinition refunds; one name cannot have two types",
            line);
    }

    [Fact]
    public async Task TheDefinitionThatTakesAnAgentPast1000MetricsIsAnErrorAndTheOthersAreNot()
    {
        var allowed = ValidationContext.MaxMetricsPerAgent - BuiltInMetrics.All.Count;
        var yaml = new StringBuilder();
        for (var i = 0; i <= allowed; i++)
        {
            yaml.Append(Definition.Replace("name: refunds", $"name: metric-{i}", StringComparison.Ordinal)
                .Replace("refund_amount_dollars", $"metric_{i}", StringComparison.Ordinal)).Append("\n---\n");
        }

        // A definition for other agents is not counted against these.
        yaml.Append(Definition.Replace("name: refunds", "name: other", StringComparison.Ordinal).Replace("support-agent", "billing-agent", StringComparison.Ordinal));
        var file = Write("many.yaml", yaml.ToString());

        var result = await Plugin.RunAsync(["validate", file]);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"AgentMetricDefinition/metric-{allowed}: spec.selector: selects agent pod labelled app=support-agent, which would then have 1001 metrics", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AThresholdOnAMetricNothingDefinesIsAWarningAndExitsZero()
    {
        var yaml = Threshold.Replace("  metric: agent_task_duration_seconds", "  metric: refund_amount_dollars # <-", StringComparison.Ordinal) + "\n";
        var file = Write("unknown-metric.yaml", yaml);

        var alone = await Plugin.RunAsync(["validate", file]);
        var withItsDefinition = await Plugin.RunAsync(["validate", file, Write("definition.yaml", Definition)]);

        Assert.Equal(0, alone.ExitCode);
        Assert.Equal(
            $"{file}:{Plugin.MarkedLine(yaml)}: warning: AlertThreshold/slow: spec.metric: refund_amount_dollars is neither a built-in metric nor defined by an AgentMetricDefinition in namespace default; the alert is written once it is\n",
            alone.Stdout);
        Assert.Equal((0, ""), (withItsDefinition.ExitCode, withItsDefinition.Stdout));
    }

    [Fact]
    public async Task StandardInputWithSeveralDocumentsAndAListIsReadAsOneStream()
    {
        var list = $"""
            apiVersion: v1
            kind: List
            items:
            - apiVersion: v1
              kind: ConfigMap
              metadata: {"{"}name: unrelated{"}"}
            - apiVersion: agentmetrics.io/v1alpha1
              kind: AlertThreshold
              metadata:
                name: in-a-list
              spec:
                metric: agent_task_duration_seconds
                statistic: p99
                threshold: 5
                severity: urgent # <-
            """;
        var stdin = Definition + "\n---\n" + list + "\n";

        var result = await Plugin.RunAsync(["validate", "-"], stdin);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(
            $"<stdin>:{Plugin.MarkedLine(stdin)}: AlertThreshold/in-a-list: spec.severity: must be critical, warning or info, got \"urgent\"\n",
            result.Stdout);
    }

    [Fact]
    public async Task AKustomizeBuildIsCheckedInItsNamespace()
    {
        var directory = Plugin.Directory("kustomize");
        foreach (var sample in Directory.GetFiles(RepoPaths.Combine("config", "samples")))
        {
            File.Copy(sample, Path.Combine(directory, Path.GetFileName(sample)));
        }

        File.WriteAllText(Path.Combine(directory, "broken.yaml"), Threshold.Replace("name: slow", "name: broken", StringComparison.Ordinal).Replace("for: 1m", "for: 1x", StringComparison.Ordinal));
        var resources = string.Join('\n', Directory.GetFiles(directory).Order(StringComparer.Ordinal).Select(f => "- " + Path.GetFileName(f)));
        File.WriteAllText(Path.Combine(directory, "kustomization.yaml"), $"namespace: team-a\nresources:\n{resources}\n");
        var build = await Command.RunAsync(Tools.Kubectl, "kustomize", directory);

        var result = await Plugin.RunAsync(["validate", "-"], build);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var expectedLine = Array.FindIndex(build.Split('\n'), l => l.Trim() == "for: 1x") + 1;
        Assert.Equal($"<stdin>:{expectedLine}: AlertThreshold/broken: spec.for: must be a Prometheus duration such as 30s, 5m or 1h, got \"1x\"", line);

        // The samples' custom-metric threshold finds its definition in the same namespace: no warning.
        Assert.Contains("10 object(s) checked: 1 error(s), 0 warning(s)", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonOutputNamesFileLineSeverityObjectFieldAndRule()
    {
        var yaml = Threshold.Replace("  severity: warning", "  severity: page # <-", StringComparison.Ordinal) + "\n";
        var file = Write("json.yaml", yaml);

        var result = await Plugin.RunAsync(["validate", "--output", "json", "-n", "team-a", file]);

        Assert.Equal(1, result.ExitCode);
        var json = JsonNode.Parse(result.Stdout)!;
        Assert.Equal((1, 1, 0), ((int)json["checked"]!, (int)json["errors"]!, (int)json["warnings"]!));
        var problem = json["problems"]![0]!;
        Assert.Equal(
            (file, Plugin.MarkedLine(yaml), "error", "AlertThreshold", "team-a", "slow", "spec.severity", "must be critical, warning or info, got \"page\""),
            ((string)problem["file"]!, (int)problem["line"]!, (string)problem["severity"]!, (string)problem["kind"]!, (string)problem["namespace"]!,
                (string)problem["name"]!, (string)problem["field"]!, (string)problem["rule"]!));
    }

    [Theory]
    [InlineData("a missing file", new[] { "validate", "/nonexistent/definitions.yaml" }, null, "/nonexistent/definitions.yaml: cannot be read: no such file or directory")]
    [InlineData("YAML that is not", new[] { "validate", "-" }, "spec: [unclosed\n", "<stdin>:2: not valid YAML")]
    [InlineData("no input named", new[] { "validate" }, null, "Required argument 'FILE|DIR|-' missing")]
    [InlineData("an unknown flag", new[] { "validate", "--strict", "x.yaml" }, null, "--strict")]
    [InlineData("an unknown output", new[] { "validate", "-o", "xml", "x.yaml" }, null, "'xml' not recognized. Must be one of: 'text' 'json'")]
    [InlineData("an unknown command", new[] { "lint", "x.yaml" }, null, "Unrecognized command or argument 'lint'")]
    public async Task BadUsageOrUnreadableInputExitsWith2AndOneLine(string what, string[] arguments, string? stdin, string expected)
    {
        var result = await Plugin.RunAsync(arguments, stdin);

        Assert.True(result.ExitCode == 2, $"{what}: exit {result.ExitCode}: {result.Stdout}{result.Stderr}");
        Assert.Equal("", result.Stdout);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("kubectl-agentmetrics: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    private static string Write(string name, string yaml)
    {
        var path = Path.Combine(Plugin.Directory("validate"), name);
        File.WriteAllText(path, yaml);
        return path;
    }
}
