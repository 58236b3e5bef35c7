using System.Collections.Concurrent;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Api.Validation;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Operator.Reconcilers;

namespace AgentMetrics.Operator.Streaming;

/// <summary>
/// What each agent pod's sidecar is to be sent, kept current by the informers: a change in a
/// namespace wakes the streams open there, and its definitions are validated once per change, not
/// once per stream.
/// </summary>
public sealed class DefinitionFeed
{
    private readonly Informer<AgentMetricDefinition> _definitions;
    private readonly Informer<KubernetesObject> _pods;
    private readonly ConcurrentDictionary<string, NamespaceState> _namespaces = new();

    /// <summary>Subscribes to both informers, so it must be created before they run.</summary>
    public DefinitionFeed(Informer<AgentMetricDefinition> definitions, Informer<KubernetesObject> pods)
    {
        _definitions = definitions;
        _pods = pods;
        definitions.Subscribe(change =>
        {
            if (change.Type != WatchEventType.Modified || Controller<AgentMetricDefinition>.IsRealChange(change.Old, change.Object))
            {
                Changed(change.Object.Metadata.Namespace);
            }
        });
        pods.Subscribe(change =>
        {
            if (Agents.SetChanged(change))
            {
                Changed(change.Object.Metadata.Namespace);
            }
        });
    }

    /// <summary>True once both caches hold a full list.</summary>
    public bool HasSynced => _definitions.HasSynced && _pods.HasSynced;

    /// <summary>The pod as last seen, or null when it is not (or no longer) there.</summary>
    public KubernetesObject? Pod(string @namespace, string name) => _pods.Cache.Get(new ObjectKey(@namespace, name));

    /// <summary>Signals every change that can alter what the pods of <paramref name="namespace"/> are sent; dispose it to stop.</summary>
    public FeedSubscription Subscribe(string @namespace)
    {
        var state = _namespaces.GetOrAdd(@namespace, _ => new NamespaceState());
        var subscription = new FeedSubscription(state.Remove);
        state.Add(subscription);
        return subscription;
    }

    /// <summary>
    /// The definitions the reconciler accepts in <paramref name="namespace"/> that select a pod with
    /// <paramref name="labels"/>, sorted by name.
    /// </summary>
    public IReadOnlyList<AgentMetricDefinition> Selecting(string @namespace, IReadOnlyDictionary<string, string>? labels) =>
        [.. Accepted(@namespace).Where(d => d.Spec.Selector.Matches(labels))];

    private IReadOnlyList<AgentMetricDefinition> Accepted(string @namespace)
    {
        var state = _namespaces.GetOrAdd(@namespace, _ => new NamespaceState());
        lock (state.Gate)
        {
            // The version is read before the caches: a change that lands meanwhile bumps it again,
            // so the next caller computes afresh rather than trusting a list that may predate it.
            var version = Volatile.Read(ref state.Version);
            if (state.Accepted is { } cached && cached.Version == version)
            {
                return cached.Definitions;
            }

            var context = Agents.Context(_definitions, _pods, @namespace);
            var accepted = context.Definitions
                .Where(d => d.Metadata.DeletionTimestamp is null && DefinitionValidator.Validate(d, context).Count == 0)
                .OrderBy(d => d.Metadata.Name, StringComparer.Ordinal)
                .ToList();
            state.Accepted = (version, accepted);
            return accepted;
        }
    }

    private void Changed(string? @namespace)
    {
        if (@namespace is not null && _namespaces.TryGetValue(@namespace, out var state))
        {
            Interlocked.Increment(ref state.Version);
            state.Notify();
        }
    }

    private sealed class NamespaceState
    {
        private readonly List<FeedSubscription> _subscriptions = [];

        public long Version;

        /// <summary>Held while the accepted definitions are read or computed, so a burst of wake-ups computes them once.</summary>
        public Lock Gate { get; } = new();

        public (long Version, List<AgentMetricDefinition> Definitions)? Accepted { get; set; }

        public void Add(FeedSubscription subscription)
        {
            lock (_subscriptions)
            {
                _subscriptions.Add(subscription);
            }
        }

        public void Remove(FeedSubscription subscription)
        {
            lock (_subscriptions)
            {
                if (_subscriptions.Remove(subscription) && _subscriptions.Count == 0)
                {
                    // Nobody streams from this namespace now: keep no copy of its definitions.
                    lock (Gate)
                    {
                        Accepted = null;
                    }
                }
            }
        }

        public void Notify()
        {
            lock (_subscriptions)
            {
                foreach (var subscription in _subscriptions)
                {
                    subscription.Signal();
                }
            }
        }
    }
}
