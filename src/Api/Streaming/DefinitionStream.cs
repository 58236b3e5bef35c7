namespace AgentMetrics.Api.Streaming;

/// <summary>Where the operator serves the definitions stream and how it is framed, for the operator and the sidecar alike.</summary>
public static class DefinitionStream
{
    /// <summary>GET with query parameters namespace and pod, and the pod's service-account token as a bearer token.</summary>
    public const string Path = "/v1/definitions/watch";

    /// <summary>One JSON <see cref="DefinitionStreamMessage"/> per line.</summary>
    public const string MediaType = "application/x-ndjson";

    /// <summary>How long the operator lets the stream be quiet before it sends a heartbeat.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(15);
}
