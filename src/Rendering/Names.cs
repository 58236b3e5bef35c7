using System.Security.Cryptography;
using System.Text;

namespace AgentMetrics.Rendering;

/// <summary>One place that names every child object, label, annotation and field manager agent-metrics writes.</summary>
public static class Names
{
    /// <summary>The server-side-apply field manager of the operator.</summary>
    public const string FieldManager = "agent-metrics-operator";

    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string ManagedBy = "agent-metrics";
    public const string OwnerKindLabel = "agentmetrics.io/owner-kind";
    public const string OwnerNameLabel = "agentmetrics.io/owner-name";

    /// <summary>Marks ConfigMaps holding Prometheus rule files (plain Prometheus mode).</summary>
    public const string RulesLabel = "agentmetrics.io/rules";

    /// <summary>Marks ConfigMaps holding a scrape-config snippet (plain Prometheus mode).</summary>
    public const string ScrapeConfigLabel = "agentmetrics.io/scrape-config";

    /// <summary>The name of the container port the sidecar serves /metrics on.</summary>
    public const string MetricsPortName = "agent-metrics";

    /// <summary>The label the sidecar injection puts on every injected pod.</summary>
    public const string InjectedLabel = "agentmetrics.io/injected";

    /// <summary>The rules object of a definition or threshold.</summary>
    public static string RulesObject(string ownerKind, string ownerName) =>
        Truncate($"agentmetrics-{(ownerKind == "AlertThreshold" ? "threshold" : "definition")}-{ownerName}");

    /// <summary>The namespace-wide scrape object (PodMonitor or scrape-config ConfigMap).</summary>
    public const string ScrapeObject = "agent-metrics";

    /// <summary>Names longer than 63 characters keep their first 54 and get a hash of the whole as suffix.</summary>
    public static string Truncate(string name, int max = 63)
    {
        if (name.Length <= max)
        {
            return name;
        }

        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..8].ToLowerInvariant();
        return $"{name[..(max - 9)].TrimEnd('-', '.')}-{hash}";
    }
}
