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
    /// <summary>The default of --output, the operator's and the CLI's.</summary>
    public const string DefaultMode = "prometheus-operator";

    /// <summary>The default of --selector-labels, the operator's and the CLI's.</summary>
    public const string DefaultSelectorLabels = "release=kube-prometheus-stack";

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

    /// <summary>
    /// The options the flags --output (prometheus-operator or configmaps) and --selector-labels
    /// (key=value[,key=value]) describe; a bad value throws an ArgumentException naming the flag and the rule.
    /// </summary>
    public static OutputOptions Parse(string output, string selectorLabels) => new()
    {
        Mode = output switch
        {
            "prometheus-operator" => OutputMode.PrometheusOperator,
            "configmaps" => OutputMode.ConfigMaps,
            _ => throw new ArgumentException($"--output must be prometheus-operator or configmaps, got \"{output}\""),
        },
        SelectorLabels = selectorLabels.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(
                kv => kv[0],
                kv => kv.Length == 2 ? kv[1] : throw new ArgumentException($"--selector-labels takes key=value pairs, got \"{kv[0]}\"")),
    };
}

/// <summary>Where the dashboards' ConfigMaps go, and the folder Grafana files them in.</summary>
public sealed record DashboardOptions
{
    /// <summary>The annotation Grafana's dashboard sidecar reads the folder from (its folderAnnotation setting).</summary>
    public string FolderAnnotation { get; init; } = "grafana_folder";

    public string Folder { get; init; } = "Agent metrics";
}
