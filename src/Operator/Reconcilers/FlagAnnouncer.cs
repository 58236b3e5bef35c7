using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Rendering;

namespace AgentMetrics.Operator.Reconcilers;

/// <summary>
/// Records one Event on the flag's ConfigMap when enable-agent-metrics flips, saying what it does to
/// how many objects. The statuses of the definitions and thresholds say FeatureDisabled each, but do
/// not each record an Event for it: a flip is one cause, and a thousand Events would double the writes
/// that stand between the flip and the statuses (see <see cref="StatusWriter"/>). Runs on the leader
/// only; a start with the flag off counts as a flip from the default, so it is recorded too.
/// </summary>
public sealed class FlagAnnouncer(
    Informer<KubernetesObject> configMaps, Informer<AgentMetricDefinition> definitions, Informer<AlertThreshold> thresholds,
    FeatureGate feature, EventRecorder events, string operatorNamespace)
{
    private int _pending = -1;

    /// <summary>The key of the flag's ConfigMap, the only one reconciled here.</summary>
    public ObjectKey Key => new(operatorNamespace, Names.FlagConfigMap);

    /// <summary>The controller that runs this announcer over the operator namespace's ConfigMaps, told of every flip.</summary>
    public Controller<KubernetesObject> Setup(ILogger logger)
    {
        var controller = new Controller<KubernetesObject>("flag", configMaps, ReconcileAsync, logger: logger);
        feature.Changed += enabled =>
        {
            Volatile.Write(ref _pending, enabled ? 1 : 0);
            controller.Queue.Add(Key);
        };
        return controller;
    }

    /// <summary>Records the last flip, unless a later one has undone it.</summary>
    public Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        if (key != Key)
        {
            return Task.FromResult(ReconcileResult.Done);
        }

        var pending = Interlocked.Exchange(ref _pending, -1);
        if (pending < 0 || (pending == 1) != feature.Enabled)
        {
            return Task.FromResult(ReconcileResult.Done);
        }

        // Listed objects carry no kind; the Event's involvedObject must name it for kubectl describe.
        var configMap = configMaps.Cache.Get(key);
        var regarding = new KubernetesObject
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = configMap?.Metadata ?? new ObjectMeta { Name = key.Name, Namespace = key.Namespace },
        };
        var objects = $"{definitions.Cache.List().Count} AgentMetricDefinition(s) and {thresholds.Cache.List().Count} AlertThreshold(s)";
        if (feature.Enabled)
        {
            events.Post(regarding, "Normal", "AgentMetricsEnabled", $"{Names.FeatureFlag} is true: {objects} are reconciled again and new agent pods get the sidecar");
        }
        else
        {
            events.Post(regarding, "Warning", Conditions.FeatureDisabled, $"{Names.FeatureFlag} is false: {objects} now report Ready=False, reason FeatureDisabled; nothing new is rendered or injected");
        }

        return Task.FromResult(ReconcileResult.Done);
    }
}
