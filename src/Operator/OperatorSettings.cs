using AgentMetrics.Rendering;

namespace AgentMetrics.Operator;

/// <summary>The operator's configuration, from the command line (--key=value) or the environment (AGENTMETRICS_KEY).</summary>
public sealed record OperatorSettings
{
    /// <summary>A kubeconfig to use; empty means $KUBECONFIG, ~/.kube/config, or the pod's service account.</summary>
    public string? Kubeconfig { get; init; }

    /// <summary>The namespace the operator runs in: its leader-election Lease lives there.</summary>
    public string Namespace { get; init; } = "agent-metrics-system";

    /// <summary>This replica's identity in leader election; the pod name in a cluster.</summary>
    public string Identity { get; init; } = Environment.MachineName;

    /// <summary>prometheus-operator (PrometheusRule, PodMonitor) or configmaps (rule files for a Prometheus configured by hand).</summary>
    public string Output { get; init; } = "prometheus-operator";

    /// <summary>Labels for the Prometheus's rule and pod-monitor selectors, as key=value[,key=value].</summary>
    public string SelectorLabels { get; init; } = "release=kube-prometheus-stack";

    /// <summary>HTTPS address of the webhooks, the definitions stream, health endpoints and /metrics.</summary>
    public string Listen { get; init; } = "https://0.0.0.0:9443";

    public string WebhookCertFile { get; init; } = "/etc/agent-metrics/webhook/tls.crt";

    public string WebhookKeyFile { get; init; } = "/etc/agent-metrics/webhook/tls.key";

    /// <summary>How long a definitions stream may be quiet before a heartbeat; shorter only in tests.</summary>
    internal TimeSpan StreamHeartbeat { get; init; } = Api.Streaming.DefinitionStream.HeartbeatInterval;

    /// <summary>The rendering options these settings describe.</summary>
    public OutputOptions ToOutputOptions() => new()
    {
        Mode = Output switch
        {
            "prometheus-operator" => OutputMode.PrometheusOperator,
            "configmaps" => OutputMode.ConfigMaps,
            _ => throw new ArgumentException($"--output must be prometheus-operator or configmaps, got \"{Output}\""),
        },
        SelectorLabels = SelectorLabels.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(
                kv => kv[0],
                kv => kv.Length == 2 ? kv[1] : throw new ArgumentException($"--selector-labels takes key=value pairs, got \"{kv[0]}\"")),
    };
}
