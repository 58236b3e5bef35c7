using System.Text.Json.Nodes;

namespace AgentMetrics.Kubernetes.Models;

/// <summary>Reads a string out of an object's JSON body, where a field may be missing or of another type.</summary>
public static class JsonText
{
    /// <summary>The string <paramref name="node"/> holds; null when it is missing or not a string.</summary>
    public static string? Of(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}
