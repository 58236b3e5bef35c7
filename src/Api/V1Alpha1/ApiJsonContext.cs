using System.Text.Json.Serialization;
using AgentMetrics.Api.Streaming;

namespace AgentMetrics.Api.V1Alpha1;

/// <summary>Source-generated serialization of the agentmetrics.io kinds and the definitions stream.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AgentMetricDefinition))]
[JsonSerializable(typeof(AlertThreshold))]
[JsonSerializable(typeof(DefinitionStreamMessage))]
public sealed partial class ApiJsonContext : JsonSerializerContext;
