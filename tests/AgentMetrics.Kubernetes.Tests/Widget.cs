using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Kubernetes.Tests;

/// <summary>The test-only custom kind smoke.agentmetrics.io/v1 Widget, typed.</summary>
public sealed class Widget : IKubernetesObject
{
    public static readonly ResourceType Type = new("smoke.agentmetrics.io", "v1", "widgets", "Widget");

    public string? ApiVersion { get; set; } = "smoke.agentmetrics.io/v1";

    public string? Kind { get; set; } = "Widget";

    public ObjectMeta Metadata { get; set; } = new();

    public WidgetSpec Spec { get; set; } = new();

    public JsonObject? Status { get; set; }

    public static Widget Named(string @namespace, string name, int size = 1) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = @namespace },
        Spec = new WidgetSpec { Size = size },
    };
}

public sealed class WidgetSpec
{
    public int Size { get; set; }

    public string? Color { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Widget))]
public sealed partial class TestJsonContext : JsonSerializerContext;
