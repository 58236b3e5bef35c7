using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace AgentMetrics.Kubernetes.Models;

/// <summary>Source-generated serialization for the kinds this library itself reads and writes.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(KubernetesObject))]
[JsonSerializable(typeof(Lease))]
[JsonSerializable(typeof(Event))]
[JsonSerializable(typeof(TokenReview))]
[JsonSerializable(typeof(Status))]
[JsonSerializable(typeof(ListMeta))]
[JsonSerializable(typeof(ObjectMeta))]
[JsonSerializable(typeof(JsonObject))]
public sealed partial class KubernetesJsonContext : JsonSerializerContext;
