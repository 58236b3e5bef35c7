using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Api;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Rendering;

namespace AgentMetrics.Operator.Discovery;

/// <summary>
/// HTTP service discovery in the format of Prometheus' http_sd_configs: the metrics address of every
/// running pod that carries the sidecar, so a Prometheus without Kubernetes discovery can scrape the
/// fleet. Each target carries __meta_agentmetrics_* labels for relabeling; the sidecar's own series
/// already hold namespace, pod and agent, so scrape it with honor_labels.
/// </summary>
public static class ScrapeTargets
{
    /// <summary>Where the endpoint is served.</summary>
    public const string Path = "/sd/targets";

    /// <summary>Serves the targets of <paramref name="pods"/>; <c>?namespace=</c> narrows them to one namespace.</summary>
    public static void MapScrapeTargets(this WebApplication app, Func<IEnumerable<KubernetesObject>> pods) =>
        app.MapGet(Path, (HttpContext context) =>
        {
            var @namespace = context.Request.Query["namespace"].FirstOrDefault();
            return Results.Text(Of(pods(), @namespace).ToJsonString(), "application/json");
        });

    /// <summary>The target groups, one per pod, of the running injected pods among <paramref name="pods"/>, sorted by namespace and name.</summary>
    public static JsonArray Of(IEnumerable<KubernetesObject> pods, string? @namespace = null)
    {
        var groups = new JsonArray();
        foreach (var pod in pods
            .Where(p => (@namespace is null || p.Metadata.Namespace == @namespace) && p.Metadata.DeletionTimestamp is null)
            .OrderBy(p => p.Metadata.Namespace, StringComparer.Ordinal).ThenBy(p => p.Metadata.Name, StringComparer.Ordinal))
        {
            if (Target(pod) is { } target)
            {
                groups.Add(target);
            }
        }

        return groups;
    }

    private static JsonObject? Target(KubernetesObject pod)
    {
        var ip = JsonText.Of(pod.Body["status"]?["podIP"]);
        if (ip is not { Length: > 0 } || JsonText.Of(pod.Body["status"]?["phase"]) != "Running" || Sidecar(pod) is not { } sidecar
            || MetricsPort(sidecar) is not { } port)
        {
            return null;
        }

        var host = ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]" : ip;
        var labels = new JsonObject
        {
            ["__meta_agentmetrics_namespace"] = pod.Metadata.Namespace,
            ["__meta_agentmetrics_pod"] = pod.Metadata.Name,
            ["__meta_agentmetrics_agent"] = Environment(sidecar, pod, SidecarFlags.EnvironmentVariable(SidecarFlags.Agent)),
            ["__meta_agentmetrics_agent_version"] = Environment(sidecar, pod, SidecarFlags.EnvironmentVariable(SidecarFlags.AgentVersion)),
            ["__meta_agentmetrics_node"] = JsonText.Of(pod.Body["spec"]?["nodeName"]) ?? "",
        };
        return new JsonObject
        {
            ["targets"] = new JsonArray(string.Create(CultureInfo.InvariantCulture, $"{host}:{port}")),
            ["labels"] = labels,
        };
    }

    private static JsonNode? Sidecar(KubernetesObject pod) =>
        new[] { "initContainers", "containers" }
            .SelectMany(field => pod.Body["spec"]?[field] as JsonArray ?? [])
            .FirstOrDefault(c => JsonText.Of(c?["name"]) == Names.SidecarContainer);

    private static int? MetricsPort(JsonNode sidecar) =>
        (sidecar["ports"] as JsonArray ?? [])
            .Where(p => JsonText.Of(p?["name"]) == Names.MetricsPortName)
            .Select(p => p!["containerPort"]?.GetValueKind() == JsonValueKind.Number ? p["containerPort"]!.GetValue<int>() : (int?)null)
            .FirstOrDefault();

    // The identity the injector gave the sidecar: a value, or a label of the pod through the downward API.
    private static string Environment(JsonNode sidecar, KubernetesObject pod, string name)
    {
        const string Label = "metadata.labels['";
        var variable = (sidecar["env"] as JsonArray ?? []).FirstOrDefault(e => JsonText.Of(e?["name"]) == name);
        if (JsonText.Of(variable?["value"]) is { } value)
        {
            return value;
        }

        var path = JsonText.Of(variable?["valueFrom"]?["fieldRef"]?["fieldPath"]) ?? "";
        return path.StartsWith(Label, StringComparison.Ordinal) && path.EndsWith("']", StringComparison.Ordinal)
            ? pod.Metadata.Labels?.GetValueOrDefault(path[Label.Length..^2]) ?? ""
            : "";
    }
}
