using System.Text.Json.Serialization;
using AgentMetrics.Sidecar.Ingest;

namespace AgentMetrics.Sidecar;

/// <summary>An error answer of the sidecar's API: what is wrong, and where.</summary>
public sealed record ErrorResponse(string Error, IReadOnlyList<IngestError>? Details = null);

/// <summary>What the events API answers when it took a request.</summary>
public sealed record EventsAccepted(int Accepted);

/// <summary>Source-generated JSON for the sidecar's own answers.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(EventsAccepted))]
[JsonSerializable(typeof(string))]
internal sealed partial class SidecarJsonContext : JsonSerializerContext
{
    /// <summary>Answers keep quotes and non-ASCII readable: they go to people and to logs, never into HTML.</summary>
    public static readonly SidecarJsonContext Readable = new(new System.Text.Json.JsonSerializerOptions
    {
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
