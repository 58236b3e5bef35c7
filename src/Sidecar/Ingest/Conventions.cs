using AgentMetrics.Api.Catalog;

namespace AgentMetrics.Sidecar.Ingest;

/// <summary>
/// Reads attributes and metric names through the conventions' one alias table
/// (<see cref="GenAiConventions"/>): spans and OTLP metrics both go through here, so an instrumentation
/// on an older version of the GenAI conventions feeds the same labels and metrics as a current one.
/// </summary>
public static class Conventions
{
    /// <summary>Older attribute keys, each with the current key it stands for.</summary>
    private static readonly Dictionary<string, string> CurrentKeys =
        GenAiConventions.AttributeAliases.ToDictionary(a => a.Older, a => a.Current, StringComparer.Ordinal);

    /// <summary>For each current key and the label it becomes, the older keys that may stand in for it.</summary>
    private static readonly Dictionary<string, string[]> OlderKeys = GenAiConventions.AttributeAliases
        .SelectMany(a => new[] { (Name: a.Current, a.Older), (Name: LabelNames.Translate(a.Current), a.Older) })
        .GroupBy(a => a.Name, StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.Select(a => a.Older).Distinct().ToArray(), StringComparer.Ordinal);

    private static readonly Dictionary<string, MetricAlias> MetricAliases =
        GenAiConventions.MetricAliases.ToDictionary(a => a.Name, StringComparer.Ordinal);

    /// <summary>The current key for <paramref name="key"/>: itself unless it is an older alias.</summary>
    public static string CurrentKey(string key) => CurrentKeys.TryGetValue(key, out var current) ? current : key;

    /// <summary>The alias entry for an OTLP metric name that feeds a built-in metric under another convention name, or null.</summary>
    public static MetricAlias? MetricAlias(string name) => MetricAliases.GetValueOrDefault(name);

    /// <summary>The text of <paramref name="key"/> (a key or the label it becomes), or of an older key standing for it; empty when none is set.</summary>
    public static string Text(Attributes attributes, string key)
    {
        var text = attributes.Text(key);
        if (text.Length == 0 && OlderKeys.TryGetValue(key, out var older))
        {
            foreach (var alias in older)
            {
                text = attributes.Text(alias);
                if (text.Length > 0)
                {
                    break;
                }
            }
        }

        return text;
    }

    /// <summary>The value of <paramref name="key"/> (a key or the label it becomes), or of an older key standing for it.</summary>
    public static bool TryGet(Attributes attributes, string key, out AttributeValue value)
    {
        if (attributes.TryGet(key, out value))
        {
            return true;
        }

        if (OlderKeys.TryGetValue(key, out var older))
        {
            foreach (var alias in older)
            {
                if (attributes.TryGet(alias, out value))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
