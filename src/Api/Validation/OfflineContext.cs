using AgentMetrics.Api.V1Alpha1;

namespace AgentMetrics.Api.Validation;

/// <summary>
/// What validation sees without a cluster (the CLI in a CI job, before anything is synced): the
/// definitions of one namespace, and no real pods. Each distinct selector stands for the agents it
/// would pick, as one agent labelled just as the selector asks; the per-agent rules (a name with two
/// types, at most 1000 metrics) are then checked for every agent a selector's owner can be sure of.
/// </summary>
public static class OfflineContext
{
    /// <summary>The context a definition of the namespace holding <paramref name="definitions"/> is validated against offline.</summary>
    public static ValidationContext For(IReadOnlyList<AgentMetricDefinition> definitions)
    {
        var agents = new List<(string Name, IReadOnlyDictionary<string, string> Labels)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var selector in definitions.Select(d => d.Spec.Selector))
        {
            var labels = Labels(selector);
            var name = labels.Count == 0
                ? "with any labels"
                : "labelled " + string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
            if (selector.Matches(labels) && seen.Add(name))
            {
                agents.Add((name, labels));
            }
        }

        return new ValidationContext { Definitions = definitions, Pods = agents };
    }

    /// <summary>The fewest labels <paramref name="selector"/> needs: its matchLabels, an In's first value, an Exists' key.</summary>
    private static Dictionary<string, string> Labels(LabelSelector selector)
    {
        var labels = new Dictionary<string, string>(selector.MatchLabels ?? [], StringComparer.Ordinal);
        foreach (var requirement in selector.MatchExpressions ?? [])
        {
            if (requirement.Operator == "In" && requirement.Values is [var first, ..])
            {
                labels.TryAdd(requirement.Key, first);
            }
            else if (requirement.Operator == "Exists")
            {
                labels.TryAdd(requirement.Key, "");
            }
        }

        return labels;
    }
}
