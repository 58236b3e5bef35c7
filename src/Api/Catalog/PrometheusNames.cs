using System.Text.RegularExpressions;

namespace AgentMetrics.Api.Catalog;

/// <summary>The Prometheus naming rules, as messages a person can act on (null when a name is fine).</summary>
public static partial class PrometheusNames
{
    /// <summary>Label names Prometheus gives a meaning of its own.</summary>
    public static readonly IReadOnlyList<string> ReservedLabels = ["le", "quantile"];

    /// <summary>Why <paramref name="name"/> cannot name a metric, or null.</summary>
    public static string? CheckMetricName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "must not be empty";
        }

        if (name.StartsWith("__", StringComparison.Ordinal))
        {
            return "must not start with \"__\", which Prometheus reserves for internal use";
        }

        if (name.Contains(':', StringComparison.Ordinal))
        {
            return "must not contain \":\", which is reserved for recording rules";
        }

        return MetricName().IsMatch(name) ? null : "must match [a-zA-Z_][a-zA-Z0-9_]* (letters, digits and underscores, not starting with a digit)";
    }

    /// <summary>Why <paramref name="name"/> cannot name a label of an agent metric, or null.</summary>
    public static string? CheckLabelName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "must not be empty";
        }

        if (name.StartsWith("__", StringComparison.Ordinal))
        {
            return "must not start with \"__\", which Prometheus reserves for internal use";
        }

        if (ReservedLabels.Contains(name))
        {
            return $"\"{name}\" is reserved by Prometheus for histogram and summary series";
        }

        if (BuiltInMetrics.IdentityLabels.Contains(name))
        {
            return $"\"{name}\" is set by agent-metrics from the pod's identity";
        }

        return LabelName().IsMatch(name) ? null : "must match [a-zA-Z_][a-zA-Z0-9_]* (letters, digits and underscores, not starting with a digit)";
    }

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex MetricName();

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelName();
}
