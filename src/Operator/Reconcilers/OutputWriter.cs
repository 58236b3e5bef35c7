using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Rendering;

namespace AgentMetrics.Operator.Reconcilers;

/// <summary>Writes rendered children by server-side apply, and removes those of the output mode not in use.</summary>
public sealed class OutputWriter(KubernetesClient client, OutputOptions options)
{
    public static readonly ResourceType PrometheusRules = new("monitoring.coreos.com", "v1", "prometheusrules", "PrometheusRule");
    public static readonly ResourceType PodMonitors = new("monitoring.coreos.com", "v1", "podmonitors", "PodMonitor");

    /// <summary>The output configuration children are rendered with.</summary>
    public OutputOptions Options { get; } = options;

    /// <summary>
    /// Applies <paramref name="child"/>, then deletes the same-named object of the other mode, if any,
    /// so switching modes leaves nothing behind. Null when applied; otherwise why it could not be.
    /// </summary>
    public async Task<string?> ApplyAsync(KubernetesObject child, CancellationToken cancellationToken)
    {
        var (type, other) = child.Kind switch
        {
            "PrometheusRule" => (PrometheusRules, ResourceType.ConfigMaps),
            "PodMonitor" => (PodMonitors, ResourceType.ConfigMaps),
            _ => (ResourceType.ConfigMaps, child.Metadata.Labels?.ContainsKey(Names.RulesLabel) == true ? PrometheusRules : PodMonitors),
        };
        var @namespace = child.Metadata.Namespace!;
        var name = child.Metadata.Name!;
        try
        {
            await client.ApplyAsync(type, @namespace, name, child, KubernetesJsonContext.Default.KubernetesObject, Names.FieldManager, force: true, cancellationToken: cancellationToken);
        }
        catch (KubernetesApiException e) when (e.IsNotFound && type.Group.Length > 0)
        {
            return $"{type.Group}/{type.Version} {type.Kind} is not served by this cluster: install the Prometheus Operator's CRDs, or run the operator with --output=configmaps";
        }

        await DeleteIfOursAsync(other, @namespace, name, cancellationToken);
        return null;
    }

    private async Task DeleteIfOursAsync(ResourceType type, string @namespace, string name, CancellationToken cancellationToken)
    {
        try
        {
            var existing = await client.TryGetAsync(type, @namespace, name, KubernetesJsonContext.Default.KubernetesObject, cancellationToken);
            if (existing?.Metadata.Labels?.GetValueOrDefault(Names.ManagedByLabel) == Names.ManagedBy)
            {
                await client.DeleteAsync(type, @namespace, name, cancellationToken: cancellationToken);
            }
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            // The other mode's kind is not served here, or the object went meanwhile: nothing to remove.
        }
    }
}
