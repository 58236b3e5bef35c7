using System.Collections.Concurrent;
using System.Text;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Api.Validation;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;

namespace AgentMetrics.Operator.Reconcilers;

/// <summary>
/// The agent pods of each namespace as the definitions there can tell them apart: grouped by the
/// values of the label keys the namespace's selectors use, since no selector can see any other label.
/// A fleet of thousands of pods from a few Deployments is a handful of groups, even when every pod
/// has a label of its own (a StatefulSet's pod-name). Validation, match counts and the definitions
/// stream read these groups, so no definition scans every pod. Each namespace's groups are computed
/// on first use after a change there and shared until the next.
/// </summary>
public sealed class AgentIndex
{
    private readonly Informer<AgentMetricDefinition> _definitions;
    private readonly Informer<KubernetesObject> _pods;
    private readonly ConcurrentDictionary<string, State> _namespaces = new(StringComparer.Ordinal);

    /// <summary>Subscribes to both informers, so it must be created before they run.</summary>
    public AgentIndex(Informer<AgentMetricDefinition> definitions, Informer<KubernetesObject> pods)
    {
        _definitions = definitions;
        _pods = pods;
        definitions.Subscribe(change =>
        {
            // Only a selector can change which labels matter; anything else leaves the groups as they are.
            if (change.Type != WatchEventType.Modified || !SameKeys(change.Old?.Spec.Selector, change.Object.Spec.Selector))
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

    /// <summary>
    /// What a definition of <paramref name="namespace"/> is validated against: every definition there
    /// and one pod for each group of its agents. <paramref name="candidate"/>, a selector not yet stored
    /// (at admission), adds its label keys.
    /// </summary>
    public ValidationContext Context(string @namespace, LabelSelector? candidate = null)
    {
        var groups = Groups(@namespace, candidate);
        return new()
        {
            Definitions = _definitions.Cache.ListInNamespace(@namespace),
            Pods = [.. groups.Select(g => (g.FirstPod, g.Labels))],
        };
    }

    /// <summary>The pods of <paramref name="namespace"/> (not being deleted) that <paramref name="selector"/> picks, and how many of them carry the sidecar.</summary>
    public (int Matched, int Injected) Count(string @namespace, LabelSelector selector)
    {
        var (matched, injected) = (0, 0);
        foreach (var group in Groups(@namespace, selector))
        {
            if (selector.Matches(group.Labels))
            {
                matched += group.Pods;
                injected += group.Injected;
            }
        }

        return (matched, injected);
    }

    /// <summary>
    /// The key that tells a pod of <paramref name="namespace"/> with <paramref name="labels"/> apart from
    /// the others as far as the namespace's definitions can: pods with equal keys are selected alike.
    /// </summary>
    public string GroupKeyOf(string @namespace, IReadOnlyDictionary<string, string>? labels) =>
        Project(Current(@namespace).Keys, labels).Key;

    /// <summary>The groups of <paramref name="namespace"/>, with <paramref name="candidate"/>'s keys when it adds any.</summary>
    public IReadOnlyList<AgentGroup> Groups(string @namespace, LabelSelector? candidate = null)
    {
        var current = Current(@namespace);
        if (candidate is null || KeysOf(candidate).All(current.Keys.Contains))
        {
            return current.Groups;
        }

        var keys = new SortedSet<string>(current.Keys, StringComparer.Ordinal);
        keys.UnionWith(KeysOf(candidate));
        return Compute(@namespace, [.. keys]);
    }

    private View Current(string @namespace)
    {
        var state = _namespaces.GetOrAdd(@namespace, _ => new State());
        lock (state.Gate)
        {
            // The version is read before the caches: a change landing meanwhile bumps it again, so the
            // next caller computes afresh rather than trusting groups that may predate it.
            var version = Volatile.Read(ref state.Version);
            if (state.View is { } view && view.Version == version)
            {
                return view;
            }

            var keys = _definitions.Cache.ListInNamespace(@namespace)
                .SelectMany(d => KeysOf(d.Spec.Selector))
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal)
                .ToArray();
            state.View = new View(version, keys, Compute(@namespace, keys));
            return state.View;
        }
    }

    private List<AgentGroup> Compute(string @namespace, string[] keys)
    {
        var groups = new Dictionary<string, AgentGroup>(StringComparer.Ordinal);
        foreach (var pod in _pods.Cache.ListInNamespace(@namespace))
        {
            if (pod.Metadata.DeletionTimestamp is not null)
            {
                continue;
            }

            var (key, labels) = Project(keys, pod.Metadata.Labels);
            var injected = Agents.Injected(pod) ? 1 : 0;
            var name = pod.Metadata.Name!;
            groups[key] = groups.TryGetValue(key, out var group)
                ? group with
                {
                    FirstPod = string.CompareOrdinal(name, group.FirstPod) < 0 ? name : group.FirstPod,
                    Pods = group.Pods + 1,
                    Injected = group.Injected + injected,
                }
                : new AgentGroup(name, labels, 1, injected);
        }

        return [.. groups.Values.OrderBy(g => g.FirstPod, StringComparer.Ordinal)];
    }

    private static (string Key, IReadOnlyDictionary<string, string> Labels) Project(string[] keys, IReadOnlyDictionary<string, string>? labels)
    {
        var projected = new Dictionary<string, string>(StringComparer.Ordinal);
        var text = new StringBuilder();
        foreach (var key in keys)
        {
            if (labels is not null && labels.TryGetValue(key, out var value))
            {
                projected[key] = value;
                text.Append(key).Append('=').Append(value).Append('\n');
            }
        }

        return (text.ToString(), projected);
    }

    private static IEnumerable<string> KeysOf(LabelSelector? selector) =>
        selector is null
            ? []
            : (selector.MatchLabels?.Keys ?? Enumerable.Empty<string>()).Concat(selector.MatchExpressions?.Select(r => r.Key) ?? []);

    private static bool SameKeys(LabelSelector? a, LabelSelector? b) =>
        KeysOf(a).Order(StringComparer.Ordinal).SequenceEqual(KeysOf(b).Order(StringComparer.Ordinal), StringComparer.Ordinal);

    private void Changed(string? @namespace)
    {
        if (@namespace is not null && _namespaces.TryGetValue(@namespace, out var state))
        {
            Interlocked.Increment(ref state.Version);
        }
    }

    private sealed record View(long Version, string[] Keys, List<AgentGroup> Groups);

    private sealed class State
    {
        public long Version;

        public Lock Gate { get; } = new();

        public View? View { get; set; }
    }
}

/// <summary>Agent pods that every selector of their namespace sees alike: the labels that matter, the first pod by name, and counts.</summary>
public sealed record AgentGroup(string FirstPod, IReadOnlyDictionary<string, string> Labels, int Pods, int Injected);
