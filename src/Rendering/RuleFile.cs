using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace AgentMetrics.Rendering;

/// <summary>Writes rule groups as a Prometheus rule file.</summary>
public static class RuleFile
{
    private static readonly JsonWriterOptions Quoting = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The YAML of a rule file holding <paramref name="groups"/>. Every string is double-quoted, so no value can change the structure.</summary>
    public static string Render(IEnumerable<RuleGroup> groups)
    {
        var yaml = new StringBuilder("groups:\n");
        foreach (var group in groups)
        {
            yaml.Append("- name: ").Append(Quote(group.Name)).Append('\n');
            yaml.Append("  interval: ").Append(Quote(group.Interval)).Append('\n');
            yaml.Append("  rules:\n");
            foreach (var rule in group.Rules)
            {
                yaml.Append(rule.Record is not null ? "  - record: " + Quote(rule.Record) : "  - alert: " + Quote(rule.Alert!)).Append('\n');
                yaml.Append("    expr: ").Append(Quote(rule.Expr)).Append('\n');
                if (rule.For is not null)
                {
                    yaml.Append("    for: ").Append(Quote(rule.For)).Append('\n');
                }

                Map(yaml, "labels", rule.Labels);
                Map(yaml, "annotations", rule.Annotations);
            }
        }

        return yaml.ToString();
    }

    private static void Map(StringBuilder yaml, string key, IReadOnlyList<KeyValuePair<string, string>>? entries)
    {
        if (entries is not { Count: > 0 })
        {
            return;
        }

        yaml.Append("    ").Append(key).Append(":\n");
        foreach (var (name, value) in entries)
        {
            yaml.Append("      ").Append(Quote(name)).Append(": ").Append(Quote(value)).Append('\n');
        }
    }

    // A JSON string is a YAML double-quoted scalar. Written by Utf8JsonWriter, which needs no reflection, so a trimmed program can render rule files.
    private static string Quote(string text)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Quoting))
        {
            writer.WriteStringValue(text);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
