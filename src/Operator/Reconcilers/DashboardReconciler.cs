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
public sealed class DashboardReconciler : IDisposable
{
    private readonly KubernetesClient _client;
    private readonly Informer<AgentMetricDefinition> _definitions;
    private readonly Informer<KubernetesObject> _pods;
    private readonly AgentIndex _agents;
    private readonly OutputWriter _output;
    private readonly FeatureGate _feature;
    private readonly string _namespace;
    private readonly DashboardOptions _options;
    private readonly ILogger _logger;
    private readonly Informer<KubernetesObject> _configMaps;
    private readonly WorkQueue<ObjectKey> _queue = new("dashboards");
    private long _writes;

    /// <summary>Follows definitions, the flag, and the dashboards' own ConfigMaps (restored when deleted by hand).</summary>
    public DashboardReconciler(
        KubernetesClient client, Informer<AgentMetricDefinition> definitions, Informer<KubernetesObject> pods, AgentIndex agents,
        Informer<KubernetesObject> operatorConfigMaps, OutputWriter output, FeatureGate feature, string @namespace, DashboardOptions options,
        ILogger logger)
    {
        (_client, _definitions, _pods, _agents, _configMaps, _output, _feature, _namespace, _options, _logger) =
            (client, definitions, pods, agents, operatorConfigMaps, output, feature, @namespace, options, logger);
        Key = new ObjectKey(@namespace, "agent-metrics-dashboards");
        definitions.Subscribe(change =>
        {
            if (change.Type != WatchEventType.Modified || Controller<AgentMetricDefinition>.IsRealChange(change.Old, change.Object))
            {
                _queue.Add(Key);
            }
        });
        operatorConfigMaps.Subscribe(change =>
        {
            if (change.Type == WatchEventType.Deleted && change.Object.Metadata.Labels?.ContainsKey(Names.DashboardLabel) == true)
            {
                _queue.Add(Key);
            }
        });
        feature.Changed += _ => _queue.Add(Key);
    }

    /// <summary>The one work-queue key every change maps to.</summary>
    public ObjectKey Key { get; }

    /// <summary>
    /// How long a pass waits after the first change before it renders, so that a burst of changes (a
    /// GitOps sync creating a thousand definitions) is rendered a few times, not once per change.
    /// </summary>
    public static TimeSpan Settle { get; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Dashboard ConfigMaps written since the operator started: a pass writes only those whose stored copy differs.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Renders once the caches are filled, then again on every change, until cancelled (the leader's work).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await _definitions.WaitForSyncAsync(cancellationToken);
        await _pods.WaitForSyncAsync(cancellationToken);
        _queue.Add(Key);
        while (!cancellationToken.IsCancellationRequested)
        {
            ObjectKey key;
            try
            {
                key = await _queue.TakeAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            try
            {
                await Task.Delay(Settle, cancellationToken);
                var result = await ReconcileAsync(key, cancellationToken);
                _queue.Forget(key);
                if (result.RequeueAfter is { } delay)
                {
                    _queue.AddAfter(key, delay);
                }
            }
            catch (Exception e) when (e is KubernetesApiException or HttpRequestException or TimeoutException)
            {
                _logger.LogWarning("dashboards: {Error}; trying again in {Delay}", e.Message, _queue.AddRateLimited(key));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            finally
            {
                _queue.Done(key);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _queue.Dispose();

    /// <summary>Renders and writes everything, then removes custom dashboards of namespaces that no longer have definitions.</summary>
    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        if (!_feature.Enabled)
        {
            // Switched off: nothing new is rendered, and what exists stays for the history it shows.
            return ReconcileResult.Done;
        }

        var valid = new List<AgentMetricDefinition>();
        foreach (var inNamespace in _definitions.Cache.List().Where(d => d.Metadata.DeletionTimestamp is null).GroupBy(d => d.Metadata.Namespace!))
        {
            var context = _agents.Context(inNamespace.Key);
            valid.AddRange(inNamespace.Where(d => DefinitionValidator.Validate(d, context).Count == 0));
        }

        // What the informer holds is what is stored: only a dashboard whose stored copy differs (or is
        // missing, or was edited by hand) is written, so a change writes the pages it changed.
        var wanted = new HashSet<string>();
        foreach (var dashboard in Dashboards.All(valid))
        {
            var configMap = ObjectRenderer.Dashboard(dashboard, _namespace, _options);
            wanted.Add(configMap.Metadata.Name!);
            if (IsStored(configMap, _configMaps.Cache.Get(new ObjectKey(_namespace, configMap.Metadata.Name!))))
            {
                continue;
            }

            await _client.ApplyAsync(
                ResourceType.ConfigMaps, _namespace, configMap.Metadata.Name!, configMap, KubernetesJsonContext.Default.KubernetesObject,
                Names.FieldManager, force: true, cancellationToken: cancellationToken);
            Interlocked.Increment(ref _writes);
        }

        var existing = _configMaps.Cache.ListInNamespace(_namespace).Where(c =>
            c.Metadata.Labels?.GetValueOrDefault(Names.ManagedByLabel) == Names.ManagedBy
            && c.Metadata.Labels.ContainsKey(Names.DashboardLabel));
        foreach (var stale in existing.Where(c => !wanted.Contains(c.Metadata.Name!)).ToList())
        {
            try
            {
                await _client.DeleteAsync(ResourceType.ConfigMaps, _namespace, stale.Metadata.Name!, cancellationToken: cancellationToken);
            }
            catch (KubernetesApiException e) when (e.IsNotFound)
            {
            }
        }

        // Without the rules the real-time panels still work on raw series; history and anomalies wait for them.
        return await _output.ApplyAsync(_output.Output.BuiltInRules(_namespace), cancellationToken) is null
            ? ReconcileResult.Done
            : ReconcileResult.After(TimeSpan.FromMinutes(1));
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
