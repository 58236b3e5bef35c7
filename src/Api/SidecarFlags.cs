namespace AgentMetrics.Api;

/// <summary>
/// The sidecar's flags that the operator's injection sets, shared by both so that a rename on one side
/// cannot leave the other behind. Each is also read from its environment variable.
/// </summary>
public static class SidecarFlags
{
    public const string Mode = "--mode";
    public const string IngestListen = "--ingest-listen";
    public const string MetricsListen = "--metrics-listen";
    public const string GrpcListen = "--grpc-listen";
    public const string RemoteWriteUrl = "--remote-write-url";
    public const string RemoteWriteHeaders = "--remote-write-headers";
    public const string RemoteWriteBearerTokenFile = "--remote-write-bearer-token-file";
    public const string PushInterval = "--push-interval";
    public const string OperatorUrl = "--operator-url";
    public const string OperatorCa = "--operator-ca";
    public const string TokenFile = "--token-file";

    /// <summary>The pod's namespace; the injection sets its variable from the downward API.</summary>
    public const string Namespace = "--namespace";

    /// <summary>The pod's name; the injection sets its variable from the downward API.</summary>
    public const string Pod = "--pod";

    /// <summary>The agent's name; the injection sets its variable from the pod's labels.</summary>
    public const string Agent = "--agent";

    /// <summary>The agent's version; the injection sets its variable from the pod's labels.</summary>
    public const string AgentVersion = "--agent-version";

    /// <summary>The environment variable of a flag: <c>--agent-version</c> is read from <c>AGENTMETRICS_AGENT_VERSION</c>.</summary>
    public static string EnvironmentVariable(string flag) => "AGENTMETRICS_" + flag[2..].Replace('-', '_').ToUpperInvariant();

    /// <summary><paramref name="flag"/>=<paramref name="value"/>, as the injection writes it into the sidecar's args.</summary>
    public static string Argument(string flag, object value) => $"{flag}={value}";
}
