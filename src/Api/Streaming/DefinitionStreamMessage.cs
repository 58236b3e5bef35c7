using AgentMetrics.Api.V1Alpha1;

namespace AgentMetrics.Api.Streaming;

/// <summary>One line of the definitions stream: every definition that selects the pod, or a heartbeat.</summary>
public sealed class DefinitionStreamMessage
{
    public const string SnapshotType = "snapshot";
    public const string HeartbeatType = "heartbeat";

    /// <summary>snapshot or heartbeat.</summary>
    public string Type { get; set; } = HeartbeatType;

    /// <summary>
    /// In a snapshot, the whole set of definitions now selecting the pod, sorted by name, each with
    /// apiVersion, kind, metadata (name, namespace, uid, generation) and spec; null in a heartbeat.
    /// </summary>
    public List<AgentMetricDefinition>? Definitions { get; set; }

    /// <summary>A snapshot of <paramref name="definitions"/>.</summary>
    public static DefinitionStreamMessage Snapshot(IEnumerable<AgentMetricDefinition> definitions) =>
        new() { Type = SnapshotType, Definitions = [.. definitions] };

    /// <summary>A heartbeat, sent when the stream has been quiet for a while, so a dead connection shows.</summary>
    public static DefinitionStreamMessage Heartbeat() => new() { Type = HeartbeatType };
}
