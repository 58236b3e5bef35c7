using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;

namespace AgentMetrics.Operator.Reconcilers;

/// <summary>Work-queue keys the controllers map changes to.</summary>
public static class Keys
{
    /// <summary>The keys of every object <paramref name="informer"/> holds in <paramref name="namespace"/>.</summary>
    public static IEnumerable<ObjectKey> InNamespace<T>(Informer<T> informer, string? @namespace)
        where T : class, IKubernetesObject =>
        @namespace is null ? [] : informer.Cache.ListInNamespace(@namespace).Select(o => o.Key());

    /// <summary>Queues every object <paramref name="informer"/> holds on <paramref name="controller"/>.</summary>
    public static void QueueAll<T>(Controller<T> controller, Informer<T> informer)
        where T : class, IKubernetesObject
    {
        foreach (var obj in informer.Cache.List())
        {
            controller.Queue.Add(obj.Key());
        }
    }
}
