using System.Collections.Concurrent;
using System.Text.Json;
using AgentMetrics.Api.Streaming;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Api.Validation;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Operator.Reconcilers;

namespace AgentMetrics.Operator.Streaming;

/// <summary>
/// What each agent pod's sidecar is to be sent, kept current by the informers: a change in a
/// namespace wakes the streams open there, its definitions are validated once per change, not once
/// per stream, and the snapshot line is serialized once per group of pods the definitions see alike
/// (<see cref="AgentIndex"/>) and shared by every stream of that group, so thousands of streams hold
/// a handful of copies.
/// </summary>
public sealed class DefinitionFeed
{
    private readonly Informer<AgentMetricDefinition> _definitions;
    private readonly Informer<KubernetesObject> _pods;
    private readonly AgentIndex _agents;
    private readonly ConcurrentDictionary<string, NamespaceState> _namespaces = new();

    /// <summary>Subscribes to both informers, so it must be created before they run.</summary>
    public DefinitionFeed(Informer<AgentMetricDefinition> definitions, Informer<KubernetesObject> pods, AgentIndex agents)
    {
        _definitions = definitions;
        _pods = pods;
        _agents = agents;
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

    /// <summary>Waits until both caches hold a full list.</summary>
    public Task WaitForSyncAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_definitions.WaitForSyncAsync(cancellationToken), _pods.WaitForSyncAsync(cancellationToken));

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
    /// The snapshot line (NDJSON, newline included) for a pod of <paramref name="namespace"/> with
    /// <paramref name="labels"/>: the same array for every pod the definitions there see alike, until
    /// the next change. Callers must not write to it.
    /// </summary>
    public byte[] Snapshot(string @namespace, IReadOnlyDictionary<string, string>? labels)
    {
        var group = _agents.GroupKeyOf(@namespace, labels);
        var (version, accepted) = Accepted(@namespace);
        var state = _namespaces.GetOrAdd(@namespace, _ => new NamespaceState());
        lock (state.Gate)
        {
            if (state.LinesVersion != version)
            {
                state.Lines.Clear();
                state.LinesVersion = version;
            }

            if (!state.Lines.TryGetValue(group, out var line))
            {
                line = Line(DefinitionStreamMessage.Snapshot(accepted.Where(d => d.Spec.Selector.Matches(labels)).Select(ForWire)));
                state.Lines[group] = line;
            }

            return line;
        }
    }

    private (long Version, IReadOnlyList<AgentMetricDefinition> Definitions) Accepted(string @namespace)
    {
        var state = _namespaces.GetOrAdd(@namespace, _ => new NamespaceState());
        lock (state.Gate)
        {
            // The version is read before the caches: a change that lands meanwhile bumps it again,
            // so the next caller computes afresh rather than trusting a list that may predate it.
            var version = Volatile.Read(ref state.Version);
            if (state.Accepted is { } cached && cached.Version == version)
            {
                return cached;
            }

            var context = _agents.Context(@namespace);
            var accepted = context.Definitions
                .Where(d => d.Metadata.DeletionTimestamp is null && DefinitionValidator.Validate(d, context).Count == 0)
                .OrderBy(d => d.Metadata.Name, StringComparer.Ordinal)
                .ToList();
            state.Accepted = (version, accepted);
            return (version, accepted);
        }
    }

    /// <summary>What a sidecar needs of a definition: identity, generation and spec; status and bookkeeping stay behind.</summary>
    private static AgentMetricDefinition ForWire(AgentMetricDefinition definition) => new()
    {
        Metadata = new ObjectMeta
        {
            Name = definition.Metadata.Name,
            Namespace = definition.Metadata.Namespace,
            Uid = definition.Metadata.Uid,
            Generation = definition.Metadata.Generation,
        },
        Spec = definition.Spec,
    };

    /// <summary>A message as one NDJSON line.</summary>
    internal static byte[] Line(DefinitionStreamMessage message)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(message, ApiJsonContext.Default.DefinitionStreamMessage);
        var line = new byte[json.Length + 1];
        json.CopyTo(line, 0);
        line[^1] = (byte)'\n';
        return line;
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

        public (long Version, IReadOnlyList<AgentMetricDefinition> Definitions)? Accepted { get; set; }

        /// <summary>Snapshot lines by pod group, for <see cref="LinesVersion"/>; guarded by <see cref="Gate"/>.</summary>
        public Dictionary<string, byte[]> Lines { get; } = new(StringComparer.Ordinal);

        public long LinesVersion { get; set; } = -1;

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
                        Lines.Clear();
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
