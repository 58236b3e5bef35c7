using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Rendering;

namespace AgentMetrics.Operator.Reconcilers;

/// <summary>
/// Keeps each namespace's scrape configuration (a PodMonitor, or a scrape-config ConfigMap) in step with
/// its injected agents: written when the first agent there carries the sidecar, removed when the last
/// one goes. Keyed by the object it writes, one per namespace.
/// </summary>
public sealed class ScrapeReconciler(Informer<KubernetesObject> pods, OutputWriter output, FeatureGate feature)
{
    /// <summary>
    /// The controller that runs this reconciler over the scrape objects it writes, with what it follows:
    /// pods that start or stop carrying the sidecar, and a flip of the flag, after which every namespace
    /// with injected agents is looked at again.
    /// </summary>
    public Controller<KubernetesObject> Setup(Informer<KubernetesObject> scrapes, ILogger logger)
    {
        var controller = new Controller<KubernetesObject>("scrape", scrapes, ReconcileAsync, logger: logger)
            .Watches(pods, Affected);
        feature.Changed += _ =>
        {
            foreach (var @namespace in pods.Cache.List().Where(Agents.Injected).Select(p => p.Metadata.Namespace!).Distinct())
            {
                controller.Queue.Add(KeyOf(@namespace));
            }
        };
        return controller;
    }

    /// <summary>The key of <paramref name="namespace"/>'s scrape configuration.</summary>
    public static ObjectKey KeyOf(string @namespace) => new(@namespace, Names.ScrapeObject);

    /// <summary>A pod matters here when it starts or stops carrying the sidecar: it comes or goes, or is replaced.</summary>
    public static IEnumerable<ObjectKey> Affected(InformerEvent<KubernetesObject> change)
    {
        var @namespace = change.Object.Metadata.Namespace;
        var injected = Agents.Injected(change.Object) && change.Object.Metadata.DeletionTimestamp is null;
        var was = change.Old is { } old && Agents.Injected(old) && old.Metadata.DeletionTimestamp is null;
        var matters = change.Type switch
        {
            WatchEventType.Added => injected,
            WatchEventType.Deleted => Agents.Injected(change.Object),
            _ => injected != was,
        };
        return matters && @namespace is not null ? [KeyOf(@namespace)] : [];
    }

    /// <summary>Reconciles one namespace's scrape configuration; safe to run any number of times.</summary>
    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        if (!feature.Enabled)
        {
            // Switched off: what was written before is left as it is, like every other child.
            return ReconcileResult.Done;
        }

        var @namespace = key.Namespace!;
        var agents = pods.Cache.ListInNamespace(@namespace).Any(p => p.Metadata.DeletionTimestamp is null && Agents.Injected(p));
        if (!agents)
        {
            await output.RemoveScrapeAsync(@namespace, cancellationToken);
            return ReconcileResult.Done;
        }

        return await output.ApplyAsync(output.Output.Scrape(@namespace), cancellationToken) is null
            ? ReconcileResult.Done
            : ReconcileResult.After(TimeSpan.FromMinutes(1));
    }
}
