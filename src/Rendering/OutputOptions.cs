namespace AgentMetrics.Rendering;

/// <summary>How Prometheus is wired in.</summary>
public enum OutputMode
{
    /// <summary>PrometheusRule and PodMonitor objects, for the Prometheus Operator (kube-prometheus-stack).</summary>
    PrometheusOperator,

    /// <summary>ConfigMaps holding rule files and a scrape-config snippet, for a Prometheus configured by hand.</summary>
    ConfigMaps,
}

/// <summary>Operator configuration the object renderers follow.</summary>
public sealed record OutputOptions
{
    public OutputMode Mode { get; init; } = OutputMode.PrometheusOperator;

    /// <summary>
    /// Labels put on PrometheusRule and PodMonitor objects so that a Prometheus's ruleSelector and
    /// podMonitorSelector pick them up. kube-prometheus-stack selects release=&lt;its release name&gt;;
    /// a mismatch here is the most common reason rules are silently ignored.
    /// </summary>
    public IReadOnlyDictionary<string, string> SelectorLabels { get; init; } =
        new Dictionary<string, string> { ["release"] = "kube-prometheus-stack" };

    /// <summary>How often Prometheus scrapes the sidecars, in scrape mode.</summary>
    public string ScrapeInterval { get; init; } = "5s";
}

/// <summary>Where the dashboards' ConfigMaps go, and the folder Grafana files them in.</summary>
public sealed record DashboardOptions
{
    /// <summary>The annotation Grafana's dashboard sidecar reads the folder from (its folderAnnotation setting).</summary>
    public string FolderAnnotation { get; init; } = "grafana_folder";

    public string Folder { get; init; } = "Agent metrics";
}
