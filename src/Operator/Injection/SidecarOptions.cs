using AgentMetrics.Api;

namespace AgentMetrics.Operator.Injection;

/// <summary>What the injection puts into an agent pod: the sidecar's image, resources, ports and delivery, from the operator's settings.</summary>
public sealed record SidecarOptions
{
    public string Image { get; init; } = "agent-metrics-sidecar:latest";

    public string ImagePullPolicy { get; init; } = "IfNotPresent";

    /// <summary>The loopback port of the events and OTLP API.</summary>
    public int IngestPort { get; init; } = 4318;

    /// <summary>The loopback port of OTLP/gRPC, where OpenTelemetry SDKs that default to gRPC export.</summary>
    public int GrpcPort { get; init; } = 4317;

    /// <summary>The port of /metrics, /healthz and /readyz, named agent-metrics for the PodMonitor.</summary>
    public int MetricsPort { get; init; } = 9464;

    /// <summary>The non-root user and group the sidecar runs as.</summary>
    public long RunAsUser { get; init; } = 65532;

    /// <summary>Resource requests and limits, as requests.cpu=20m,limits.memory=192Mi.</summary>
    public IReadOnlyDictionary<string, string> Requests { get; init; } = new Dictionary<string, string> { ["cpu"] = "20m", ["memory"] = SidecarMemory.Request };

    public IReadOnlyDictionary<string, string> Limits { get; init; } = new Dictionary<string, string> { ["memory"] = SidecarMemory.Limit };

    /// <summary>scrape or push.</summary>
    public string Mode { get; init; } = "scrape";

    /// <summary>The remote-write endpoint in push mode.</summary>
    public string? RemoteWriteUrl { get; init; }

    /// <summary>In push mode, extra request headers as Name=value[,Name=value] (a tenant: X-Scope-OrgID=team-a).</summary>
    public string? RemoteWriteHeaders { get; init; }

    /// <summary>
    /// In push mode, a Secret of the agent pod's own namespace whose key <c>token</c> is the bearer
    /// token for the remote-write endpoint; it is mounted read-only into the sidecar.
    /// </summary>
    public string? RemoteWriteBearerTokenSecret { get; init; }

    /// <summary>In push mode, how often the sidecar pushes what changed; null: the sidecar's default.</summary>
    public string? PushInterval { get; init; }

    /// <summary>Where the remote-write bearer token's Secret is mounted in the sidecar.</summary>
    public const string RemoteWriteTokenDirectory = "/var/run/secrets/agentmetrics.io/remote-write";

    /// <summary>Where sidecars reach the operator's definitions stream; empty: built-in metrics only.</summary>
    public string? OperatorUrl { get; init; }

    /// <summary>Pod labels whose value names the agent, the first present wins; without any, the first container's name.</summary>
    public IReadOnlyList<string> AgentLabels { get; init; } = ["agentmetrics.io/agent", "app.kubernetes.io/name", "app"];

    /// <summary>Pod labels whose value is the agent's version, the first present wins.</summary>
    public IReadOnlyList<string> AgentVersionLabels { get; init; } = ["agentmetrics.io/agent-version", "app.kubernetes.io/version", "version"];

    /// <summary>Where the injected sidecar finds its service-account token.</summary>
    public const string TokenDirectory = "/var/run/secrets/agentmetrics.io/serviceaccount";

    /// <summary>How long the projected token lives before the kubelet rotates it.</summary>
    public const long TokenSeconds = 3600;

    /// <summary>Parses key=value[,key=value] where each key is requests.X or limits.X.</summary>
    public static (Dictionary<string, string> Requests, Dictionary<string, string> Limits) ParseResources(string text)
    {
        var requests = new Dictionary<string, string>();
        var limits = new Dictionary<string, string>();
        foreach (var pair in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = pair.Split('=', 2);
            var key = parts[0].Split('.', 2);
            if (parts.Length != 2 || key.Length != 2 || key[1].Length == 0 || parts[1].Length == 0 || key[0] is not ("requests" or "limits"))
            {
                throw new ArgumentException($"--sidecar-resources takes requests.<resource>=<quantity> or limits.<resource>=<quantity>, got \"{pair}\"");
            }

            (key[0] == "requests" ? requests : limits)[key[1]] = parts[1];
        }

        return (requests, limits);
    }
}
