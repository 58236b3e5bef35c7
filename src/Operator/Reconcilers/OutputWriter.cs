using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Rendering;

namespace AgentMetrics.Operator.Reconcilers;

/// <summary>
/// Writes what the output adapter renders by server-side apply, and removes what the other output mode
/// left. An object whose stored copy (<paramref name="stored"/>, the informers' view) already holds what
/// was rendered is not applied again: a flip of the flag or a restart reconciles every object, and a
/// thousand applies that change nothing are a thousand writes the API server still has to process.
/// </summary>
public sealed class OutputWriter(KubernetesClient client, PrometheusOutput output, Func<ResourceType, ObjectKey, KubernetesObject?>? stored = null)
{
    private const int RememberedNames = 100_000;
    private long _applies;

    // Names whose object of the other mode is known to be gone. Only an operator running in the other
    // mode writes one, so once this process has looked, no reconcile needs to ask the API server again.
    private readonly ConcurrentDictionary<(string Namespace, string Name), byte> _otherModeGone = new();

    /// <summary>The adapter of the output mode in use.</summary>
    public PrometheusOutput Output { get; } = output;

    /// <summary>Server-side applies sent since the operator started.</summary>
    public long Applies => Interlocked.Read(ref _applies);

    /// <summary>Raised with each object an apply is sent for, before it is sent.</summary>
    public event Action<KubernetesObject>? Applying;

    /// <summary>
    /// Applies <paramref name="child"/>, then deletes the same-named object of the other mode, if any,
    /// so switching modes leaves nothing behind. Null when applied; otherwise why it could not be.
    /// </summary>
    public async Task<string?> ApplyAsync(KubernetesObject child, CancellationToken cancellationToken)
    {
        var type = Output.KindOf(child);
        var @namespace = child.Metadata.Namespace!;
        var name = child.Metadata.Name!;
        try
        {
            if (!IsStored(child, stored?.Invoke(type, new ObjectKey(@namespace, name))))
            {
                Interlocked.Increment(ref _applies);
                Applying?.Invoke(child);
                await client.ApplyAsync(type, @namespace, name, child, KubernetesJsonContext.Default.KubernetesObject, Names.FieldManager, force: true, cancellationToken: cancellationToken);
            }
        }
        catch (KubernetesApiException e) when (e.IsNotFound && type.Group.Length > 0)
        {
            return $"{type.Group}/{type.Version} {type.Kind} is not served by this cluster: install the Prometheus Operator's CRDs, or run the operator with --output=configmaps";
        }

        if (!_otherModeGone.ContainsKey((@namespace, name)))
        {
            await DeleteIfOursAsync(Output.Replaces(child), @namespace, name, cancellationToken);
            if (_otherModeGone.Count >= RememberedNames)
            {
                _otherModeGone.Clear();
            }

            _otherModeGone.TryAdd((@namespace, name), 0);
        }

        return null;
    }

    /// <summary>Removes a namespace's scrape configuration, of either mode, where agent-metrics wrote it.</summary>
    public async Task RemoveScrapeAsync(string @namespace, CancellationToken cancellationToken)
    {
        var scrape = Output.Scrape(@namespace);
        await DeleteIfOursAsync(Output.ScrapeKind, @namespace, scrape.Metadata.Name!, cancellationToken);
        await DeleteIfOursAsync(Output.Replaces(scrape), @namespace, scrape.Metadata.Name!, cancellationToken);
    }

    /// <summary>Whether <paramref name="current"/> holds the labels, annotations, owners and content of <paramref name="wanted"/>.</summary>
    private static bool IsStored(KubernetesObject wanted, KubernetesObject? current)
    {
        if (current is null || current.Metadata.DeletionTimestamp is not null
            || (wanted.Metadata.Labels ?? []).Any(l => current.Metadata.Labels?.GetValueOrDefault(l.Key) != l.Value)
            || (wanted.Metadata.Annotations ?? []).Any(a => current.Metadata.Annotations?.GetValueOrDefault(a.Key) != a.Value)
            || (wanted.Metadata.OwnerReferences ?? []).Any(o => current.Metadata.OwnerReferences?.Any(c => c.Uid == o.Uid && c.Controller == o.Controller) != true))
        {
            return false;
        }

        // Every field rendered (a rule group's spec, a ConfigMap's data) as it is stored, to the last value.
        return wanted.Body.All(field => JsonNode.DeepEquals(field.Value, current.Body[field.Key]));
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
