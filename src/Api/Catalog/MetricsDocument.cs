using System.Globalization;
using System.Text;

namespace AgentMetrics.Api.Catalog;

/// <summary>Renders docs/metrics.md from the catalog.</summary>
public static class MetricsDocument
{
    /// <summary>The whole document.</summary>
    public static string Render()
    {
        var text = new StringBuilder();
        text.AppendLine("# Built-in agent metrics");
        text.AppendLine();
        text.AppendLine("<!-- Generated from src/Api/Catalog/BuiltInMetrics.cs by `make golden`. Do not edit by hand. -->");
        text.AppendLine();
        text.AppendLine("Every agent with the sidecar reports these metrics, besides the custom ones its");
        text.AppendLine("AgentMetricDefinitions add. Every series also carries the identity labels");
        text.AppendLine(CultureInfo.InvariantCulture, $"{string.Join(", ", BuiltInMetrics.IdentityLabels.Select(l => $"`{l}`"))}, set from the pod.");
        text.AppendLine("Where the OpenTelemetry GenAI semantic conventions define a metric, the name, unit and bucket");
        text.AppendLine("boundaries follow them, translated to Prometheus names (dots become underscores, the unit a suffix).");
        text.AppendLine("The last column names the release each follows: `semconv` is opentelemetry/semantic-conventions,");
        text.AppendLine("`semconv-genai` the GenAI conventions' own repository since they moved there. Attributes renamed");
        text.AppendLine("since are accepted under both names: `gen_ai.system` (up to semconv 1.36.0) and `gen_ai.provider.name`");
        text.AppendLine("both fill `gen_ai_provider_name`, on spans and OTLP metrics alike.");
        text.AppendLine();
        text.AppendLine("| metric | type | unit | labels | OpenTelemetry |");
        text.AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var metric in BuiltInMetrics.All)
        {
            var labels = metric.Labels.Count == 0 ? "—" : string.Join(", ", metric.Labels.Select(l => $"`{l}`"));
            var convention = metric.Convention is null ? "—"
                : BuiltInMetrics.ConventionVersions.TryGetValue(metric.Convention, out var version) ? $"`{metric.Convention}` ({version})"
                : $"`{metric.Convention}`";
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| [`{metric.SeriesName}`](#{metric.Name}) | {metric.Type.ToString().ToLowerInvariant()} | {metric.Unit} | {labels} | {convention} |");
        }

        foreach (var metric in BuiltInMetrics.All)
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"## {metric.Name}");
            text.AppendLine();
            text.AppendLine(metric.Help);
            if (metric.Buckets is { } buckets)
            {
                text.AppendLine();
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"Buckets (`le`): {string.Join(", ", buckets.Select(b => b.ToString(CultureInfo.InvariantCulture)))}, +Inf.");
            }

            if (metric.Name == BuiltInMetrics.Tasks.Name)
            {
                text.AppendLine();
                text.AppendLine(CultureInfo.InvariantCulture, $"`outcome` is one of {string.Join(", ", BuiltInMetrics.TaskOutcomes.Select(o => $"`{o}`"))}.");
            }
        }

        return text.ToString();
    }
}
