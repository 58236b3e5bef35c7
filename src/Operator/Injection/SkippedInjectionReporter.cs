using System.Collections.Concurrent;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Rendering;

namespace AgentMetrics.Operator.Injection;

/// <summary>
/// Records a Warning Event on each pod the injection admitted without the sidecar. The webhook itself
/// declares no side effects (it also answers dry runs), so the Event is written here, once the pod is
/// stored and has its final name. The Event is recorded once per pod, also across the operator's
/// restarts and leader changes (<see cref="EventRecorder.WarningOnceAsync"/>).
/// </summary>
public sealed class SkippedInjectionReporter(Informer<KubernetesObject> pods, EventRecorder events)
{
    public const string Reason = "SidecarInjectionSkipped";
    private const int Remembered = 16384;
    private readonly ConcurrentDictionary<string, byte> _reported = new();

    /// <summary>The controller that runs this reporter over every pod change.</summary>
    public Controller<KubernetesObject> Setup(ILogger logger) =>
        new("pod", pods, ReconcileAsync, logger: logger);

    /// <summary>Reports the pod of <paramref name="key"/> if it was skipped and not reported yet.</summary>
    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var pod = pods.Cache.Get(key);
        var annotations = pod?.Metadata.Annotations;
        if (pod?.Metadata.Uid is not { } uid || annotations is null
            || !annotations.TryGetValue(Names.InjectionStatusAnnotation, out var status) || status != "skipped"
            || _reported.ContainsKey(uid))
        {
            return ReconcileResult.Done;
        }

        annotations.TryGetValue(Names.InjectionMessageAnnotation, out var message);
        var regarding = new KubernetesObject { ApiVersion = "v1", Kind = "Pod", Metadata = pod.Metadata };
        await events.WarningOnceAsync(regarding, Reason, message ?? "the metrics sidecar was not injected", cancellationToken);
        if (_reported.Count >= Remembered)
        {
            _reported.Clear();
        }

        _reported[uid] = 0;
        return ReconcileResult.Done;
    }
}
