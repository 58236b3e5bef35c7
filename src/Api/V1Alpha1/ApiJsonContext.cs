using System.Text.Json.Serialization;

namespace AgentMetrics.Api.V1Alpha1;

/// <summary>Source-generated serialization of the agentmetrics.io kinds.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AgentMetricDefinition))]
[JsonSerializable(typeof(AlertThreshold))]
public sealed partial class ApiJsonContext : JsonSerializerContext;
