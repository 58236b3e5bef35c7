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
        text.AppendLine("The last column names the release each follows: `semconv` is opentelemetry/semantic-conventions");
        text.AppendLine(CultureInfo.InvariantCulture, $"({GenAiConventions.Core} is the last release that held the GenAI conventions), `semconv-genai`");
        text.AppendLine("open-telemetry/semantic-conventions-genai, where they have lived since. Older and newer names");
        text.AppendLine("are accepted too: see [Names also accepted](#names-also-accepted).");
        text.AppendLine();
        text.AppendLine("| metric | type | unit | labels | OpenTelemetry |");
        text.AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var metric in BuiltInMetrics.All)
        {
            var labels = metric.Labels.Count == 0 ? "—" : string.Join(", ", metric.Labels.Select(l => $"`{l}`"));
            var convention = metric.Convention is null ? "—"
                : GenAiConventions.Versions.TryGetValue(metric.Convention, out var version) ? $"`{metric.Convention}` ({version})"
                : $"`{metric.Convention}`";
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| [`{metric.SeriesName}`](#{metric.Name}) | {metric.Type.ToString().ToLowerInvariant()} | {metric.Unit} | {labels} | {convention} |");
        }

        AppendAliases(text);
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

    /// <summary>The alias table: OTLP metric names and attribute keys read as another convention name.</summary>
    private static void AppendAliases(StringBuilder text)
    {
        text.AppendLine();
        text.AppendLine("## Names also accepted");
        text.AppendLine();
        text.AppendLine("The sidecar reads these OTLP metric names as the built-in metric of another convention name:");
        text.AppendLine();
        text.AppendLine("| OTLP metric | feeds | named in | why |");
        text.AppendLine("| --- | --- | --- | --- |");
        foreach (var alias in GenAiConventions.MetricAliases)
        {
            var target = BuiltInMetrics.All.Single(m => m.Convention == alias.Feeds);
            var label = alias.FixedLabel is null ? "" : $"{{{alias.FixedLabel}=\"{alias.FixedValue}\"}}";
            text.AppendLine(CultureInfo.InvariantCulture, $"| `{alias.Name}` | `{target.SeriesName}{label}` | {alias.Version} | {alias.Why} |");
        }

        text.AppendLine();
        text.AppendLine("and these older attribute keys, on spans and OTLP metrics alike, as the current key (a key sent");
        text.AppendLine("under both names takes the current one's value):");
        text.AppendLine();
        text.AppendLine("| older key | current key | renamed in |");
        text.AppendLine("| --- | --- | --- |");
        foreach (var alias in GenAiConventions.AttributeAliases)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| `{alias.Older}` | `{alias.Current}` | {alias.RenamedIn} |");
        }
    }
}
