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
    private readonly WorkQueue<ObjectKey> _queue = new("dashboards");

    /// <summary>Follows definitions, the flag, and the dashboards' own ConfigMaps (restored when deleted by hand).</summary>
    public DashboardReconciler(
        KubernetesClient client, Informer<AgentMetricDefinition> definitions, Informer<KubernetesObject> pods, AgentIndex agents,
        Informer<KubernetesObject> operatorConfigMaps, OutputWriter output, FeatureGate feature, string @namespace, DashboardOptions options,
        ILogger logger)
    {
        (_client, _definitions, _pods, _agents, _output, _feature, _namespace, _options, _logger) =
            (client, definitions, pods, agents, output, feature, @namespace, options, logger);
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

        var wanted = new HashSet<string>();
        foreach (var dashboard in Dashboards.All(valid))
        {
            var configMap = ObjectRenderer.Dashboard(dashboard, _namespace, _options);
            wanted.Add(configMap.Metadata.Name!);
            await _client.ApplyAsync(
                ResourceType.ConfigMaps, _namespace, configMap.Metadata.Name!, configMap, KubernetesJsonContext.Default.KubernetesObject,
                Names.FieldManager, force: true, cancellationToken: cancellationToken);
        }

        var existing = await _client.ListAsync(
            ResourceType.ConfigMaps, _namespace, KubernetesJsonContext.Default.KubernetesObject,
            new ListOptions { LabelSelector = $"{Names.ManagedByLabel}={Names.ManagedBy},{Names.DashboardLabel}" }, cancellationToken);
        foreach (var stale in existing.Items.Where(c => !wanted.Contains(c.Metadata.Name!)))
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
}
