using System.Text.Json;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Testing;

namespace AgentMetrics.Rendering.Tests;

/// <summary>The objects of config/samples, read as the API server would store them in namespace "agents".</summary>
internal static class Samples
{
    public const string Namespace = "agents";

    public static IReadOnlyList<AgentMetricDefinition> Definitions() =>
        [.. Files("agentmetricdefinition-*.yaml").Select(f => Read(f, ApiJsonContext.Default.AgentMetricDefinition))];

    public static IReadOnlyList<AlertThreshold> Thresholds() =>
        [.. Files("alertthreshold-*.yaml").Select(f => Read(f, ApiJsonContext.Default.AlertThreshold))];

    /// <summary>The metric a threshold watches: built-in, or from a definition.</summary>
    public static MetricSpec MetricOf(string metric, IEnumerable<AgentMetricDefinition> definitions) =>
        MetricCatalog.Resolve(metric, definitions)!;

    private static IEnumerable<string> Files(string pattern) =>
        Directory.GetFiles(RepoPaths.Combine("config", "samples"), pattern).Order(StringComparer.Ordinal);

    private static T Read<T>(string path, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
        where T : Kubernetes.Models.IKubernetesObject
    {
        var obj = YamlJson.Parse(File.ReadAllText(path))!.Deserialize(typeInfo)!;
        obj.Metadata.Namespace = Namespace;
        return obj;
    }
}
