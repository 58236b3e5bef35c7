using System.Text.Json.Nodes;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Api.Validation;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Rendering;

namespace AgentMetrics.Operator.Reconcilers;

/// <summary>
/// Keeps the Grafana dashboards (as ConfigMaps) and the built-in recording rules they read in the
/// operator's namespace: the standing dashboards, and the custom-metrics dashboards of every namespace
/// with valid definitions, regenerated on any change. One key, so one pass renders everything.
/// </summary>
public sealed class DashboardReconciler(
    KubernetesClient client, Informer<AgentMetricDefinition> definitions, Informer<KubernetesObject> pods, AgentIndex agents,
    Informer<KubernetesObject> operatorConfigMaps, OutputWriter output, FeatureGate feature, string @namespace, DashboardOptions options)
{
    private long _writes;

    /// <summary>The one work-queue key every change maps to.</summary>
    public ObjectKey Key { get; } = new(@namespace, "agent-metrics-dashboards");

    /// <summary>
    /// How long a pass waits after the first change before it renders, so that a burst of changes (a
    /// GitOps sync creating a thousand definitions) is rendered a few times, not once per change.
    /// </summary>
    public static TimeSpan Settle { get; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Dashboard ConfigMaps written since the operator started: a pass writes only those whose stored copy differs.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>
    /// The controller that runs this reconciler (one worker, the one key), with what it follows: every
    /// real change of a definition, the flag, and the dashboards' own ConfigMaps (restored when deleted
    /// by hand). It renders once the caches are filled, whether or not anything changed.
    /// </summary>
    public Controller<AgentMetricDefinition> Setup(ILogger logger)
    {
        var controller = new Controller<AgentMetricDefinition>(
                "dashboards", definitions, SettleThenReconcileAsync, new ControllerOptions { Workers = 1 }, logger)
            .MapsPrimary(_ => [Key])
            .Watches(operatorConfigMaps, change => change.Type == WatchEventType.Deleted && change.Object.Metadata.Labels?.ContainsKey(Names.DashboardLabel) == true
                ? [Key]
                : [])
            .Reads(pods)
            .ReconcilesOnStart(Key);
        feature.Changed += _ => controller.Queue.Add(Key);
        return controller;
    }

    /// <summary>Renders and writes everything, then removes custom dashboards of namespaces that no longer have definitions.</summary>
    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        if (!feature.Enabled)
        {
            // Switched off: nothing new is rendered, and what exists stays for the history it shows.
            return ReconcileResult.Done;
        }

        var valid = new List<AgentMetricDefinition>();
        foreach (var inNamespace in definitions.Cache.List().Where(d => d.Metadata.DeletionTimestamp is null).GroupBy(d => d.Metadata.Namespace!))
        {
            var context = agents.Context(inNamespace.Key);
            valid.AddRange(inNamespace.Where(d => DefinitionValidator.Validate(d, context).Count == 0));
        }

        // What the informer holds is what is stored: only a dashboard whose stored copy differs (or is
        // missing, or was edited by hand) is written, so a change writes the pages it changed.
        var wanted = new HashSet<string>();
        foreach (var dashboard in Dashboards.All(valid))
        {
            var configMap = ObjectRenderer.Dashboard(dashboard, @namespace, options);
            wanted.Add(configMap.Metadata.Name!);
            if (IsStored(configMap, operatorConfigMaps.Cache.Get(new ObjectKey(@namespace, configMap.Metadata.Name!))))
            {
                continue;
            }

            await client.ApplyAsync(
                ResourceType.ConfigMaps, @namespace, configMap.Metadata.Name!, configMap, KubernetesJsonContext.Default.KubernetesObject,
                Names.FieldManager, force: true, cancellationToken: cancellationToken);
            Interlocked.Increment(ref _writes);
        }

        var existing = operatorConfigMaps.Cache.ListInNamespace(@namespace).Where(c =>
            c.Metadata.Labels?.GetValueOrDefault(Names.ManagedByLabel) == Names.ManagedBy
            && c.Metadata.Labels.ContainsKey(Names.DashboardLabel));
        foreach (var stale in existing.Where(c => !wanted.Contains(c.Metadata.Name!)).ToList())
        {
            try
            {
                await client.DeleteAsync(ResourceType.ConfigMaps, @namespace, stale.Metadata.Name!, cancellationToken: cancellationToken);
            }
            catch (KubernetesApiException e) when (e.IsNotFound)
            {
            }
        }

        // Without the rules the real-time panels still work on raw series; history and anomalies wait for them.
        return await output.ApplyAsync(output.Output.BuiltInRules(@namespace), cancellationToken) is null
            ? ReconcileResult.Done
            : ReconcileResult.After(TimeSpan.FromMinutes(1));
    }

    private async Task<ReconcileResult> SettleThenReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        await Task.Delay(Settle, cancellationToken);
        return await ReconcileAsync(key, cancellationToken);
    }

    /// <summary>Whether <paramref name="stored"/> has the data, labels and annotations of <paramref name="wanted"/>.</summary>
    private static bool IsStored(KubernetesObject wanted, KubernetesObject? stored)
    {
        if (stored is null || stored.Metadata.DeletionTimestamp is not null
            || (wanted.Metadata.Labels ?? []).Any(l => stored.Metadata.Labels?.GetValueOrDefault(l.Key) != l.Value)
            || (wanted.Metadata.Annotations ?? []).Any(a => stored.Metadata.Annotations?.GetValueOrDefault(a.Key) != a.Value)
            || stored.Body["data"] is not JsonObject data)
        {
            return false;
        }

        var want = wanted.Body["data"]!.AsObject();
        return data.Count == want.Count && want.All(entry => data[entry.Key] is JsonValue value
            && value.TryGetValue<string>(out var text) && text == (string?)entry.Value);
    }
}
