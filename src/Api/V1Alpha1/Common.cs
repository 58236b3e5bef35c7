using System.Text.Json.Serialization;

namespace AgentMetrics.Api.V1Alpha1;

/// <summary>The API group and version of both kinds.</summary>
public static class ApiGroup
{
    public const string Group = "agentmetrics.io";
    public const string Version = "v1alpha1";
    public const string ApiVersion = $"{Group}/{Version}";
}

/// <summary>metav1.LabelSelector: which pods (agents) something applies to.</summary>
public sealed class LabelSelector
{
    public Dictionary<string, string>? MatchLabels { get; set; }

    public List<LabelSelectorRequirement>? MatchExpressions { get; set; }

    /// <summary>True when a pod with <paramref name="labels"/> is selected; an empty selector selects every pod.</summary>
    public bool Matches(IReadOnlyDictionary<string, string>? labels)
    {
        labels ??= new Dictionary<string, string>();
        foreach (var (key, value) in MatchLabels ?? [])
        {
            if (!labels.TryGetValue(key, out var actual) || actual != value)
            {
                return false;
            }
        }

        foreach (var requirement in MatchExpressions ?? [])
        {
            var has = labels.TryGetValue(requirement.Key, out var actual);
            var values = requirement.Values ?? [];
            var ok = requirement.Operator switch
            {
                "In" => has && values.Contains(actual!),
                "NotIn" => !has || !values.Contains(actual!),
                "Exists" => has,
                "DoesNotExist" => !has,
                _ => false,
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>metav1.LabelSelectorRequirement.</summary>
public sealed class LabelSelectorRequirement
{
    public string Key { get; set; } = "";

    /// <summary>In, NotIn, Exists or DoesNotExist.</summary>
    public string Operator { get; set; } = "";

    public List<string>? Values { get; set; }
}

/// <summary>metav1.Condition.</summary>
public sealed class Condition
{
    public string Type { get; set; } = "";

    /// <summary>"True", "False" or "Unknown".</summary>
    public string Status { get; set; } = "Unknown";

    public string Reason { get; set; } = "";

    public string Message { get; set; } = "";

    [JsonConverter(typeof(Kubernetes.Models.KubernetesTimeConverter))]
    public DateTimeOffset? LastTransitionTime { get; set; }

    public long? ObservedGeneration { get; set; }
}
