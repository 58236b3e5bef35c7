namespace AgentMetrics.Sidecar.Ingest;

/// <summary>
/// The one table of OpenTelemetry names the sidecar reads under another name: attribute keys that
/// later versions of the GenAI semantic conventions renamed. Spans and OTLP metrics both read through
/// it, so an instrumentation on an older version feeds the same labels as a current one.
/// </summary>
public static class Conventions
{
    /// <summary>Older attribute keys, each with the current key it stands for.</summary>
    public static readonly IReadOnlyDictionary<string, string> AttributeAliases = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        // Renamed in GenAI semantic conventions 1.37; many instrumentations still send the old key.
        ["gen_ai.system"] = "gen_ai.provider.name",
    };

    /// <summary>For each current key and the label it becomes, the older keys that may stand in for it.</summary>
    private static readonly Dictionary<string, string[]> OlderKeys = AttributeAliases
        .SelectMany(a => new[] { (Name: a.Value, Older: a.Key), (Name: LabelNames.Translate(a.Value), Older: a.Key) })
        .GroupBy(a => a.Name, StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.Select(a => a.Older).Distinct().ToArray(), StringComparer.Ordinal);

    /// <summary>The current key for <paramref name="key"/>: itself unless it is an older alias.</summary>
    public static string CurrentKey(string key) => AttributeAliases.TryGetValue(key, out var current) ? current : key;

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
}
