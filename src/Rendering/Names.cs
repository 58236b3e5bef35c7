using System.Security.Cryptography;
using System.Text;

namespace AgentMetrics.Rendering;

/// <summary>One place that names every child object, label, annotation and field manager agent-metrics writes.</summary>
public static class Names
{
    /// <summary>The namespace the operator runs in by default; the dashboards and the built-in rules go there.</summary>
    public const string OperatorNamespace = "agent-metrics-system";

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

    /// <summary>On a namespace, <c>enabled</c> opts its pods in; on a pod, <c>disabled</c> opts it out.</summary>
    public const string InjectLabel = "agentmetrics.io/inject";

    /// <summary>A pod annotation that opts the pod out when it is <c>disabled</c> or <c>false</c>.</summary>
    public const string InjectAnnotation = "agentmetrics.io/inject";

    /// <summary>What the injection did to a pod: <c>injected</c> or <c>skipped</c>; a pod carrying it is never injected again.</summary>
    public const string InjectionStatusAnnotation = "agentmetrics.io/injection";

    /// <summary>Why the injection skipped a pod, for people and for the Event the operator records.</summary>
    public const string InjectionMessageAnnotation = "agentmetrics.io/injection-message";

    /// <summary>The injected sidecar container.</summary>
    public const string SidecarContainer = "agent-metrics-sidecar";

    /// <summary>The injected volume holding the sidecar's service-account token for the definitions stream.</summary>
    public const string SidecarTokenVolume = "agent-metrics-token";

    /// <summary>The injected scratch volume: the sidecar's root filesystem is read-only.</summary>
    public const string SidecarTmpVolume = "agent-metrics-tmp";

    /// <summary>The volume holding the remote-write bearer token, from the Secret the operator is told.</summary>
    public const string SidecarRemoteWriteTokenVolume = "agent-metrics-remote-write";

    /// <summary>The ConfigMap, in the operator's namespace, holding the feature flag.</summary>
    public const string FlagConfigMap = "agent-metrics-config";

    /// <summary>The feature flag's key in <see cref="FlagConfigMap"/>.</summary>
    public const string FeatureFlag = "enable-agent-metrics";

    /// <summary>The rules object of a definition or threshold.</summary>
    public static string RulesObject(string ownerKind, string ownerName) =>
        Truncate($"agentmetrics-{(ownerKind == "AlertThreshold" ? "threshold" : "definition")}-{ownerName}");

    /// <summary>The object holding the built-in recording rules, in the operator's namespace.</summary>
    public const string BuiltInRules = "agentmetrics-builtin";

    /// <summary>The label Grafana's dashboard sidecar loads ConfigMaps by.</summary>
    public const string GrafanaDashboardLabel = "grafana_dashboard";

    /// <summary>Marks the dashboards' ConfigMaps: standing (fleet, agent, history) or custom (per namespace).</summary>
    public const string DashboardLabel = "agentmetrics.io/dashboard";

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
