using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Kubernetes.Runtime;

/// <summary>The objects of one kind as last seen, indexed by namespace and by label.</summary>
public sealed class ObjectCache<T>
    where T : class, IKubernetesObject
{
    private readonly ReaderWriterLockSlim _lock = new();
    private readonly Dictionary<ObjectKey, T> _items = [];
    private readonly Dictionary<string, HashSet<ObjectKey>> _byNamespace = [];
    private readonly Dictionary<(string Key, string Value), HashSet<ObjectKey>> _byLabel = [];

    /// <summary>How many objects are cached.</summary>
    public int Count
    {
        get
        {
            _lock.EnterReadLock();
            try
            {
                return _items.Count;
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
    }

    /// <summary>The cached object, or null.</summary>
    public T? Get(ObjectKey key) => Read(() => _items.GetValueOrDefault(key));

    /// <summary>Every cached object.</summary>
    public IReadOnlyList<T> List() => Read(() => (IReadOnlyList<T>)[.. _items.Values]);

    /// <summary>The cached objects of one namespace.</summary>
    public IReadOnlyList<T> ListInNamespace(string @namespace) =>
        Read(() => Lookup(_byNamespace.GetValueOrDefault(@namespace)));

    /// <summary>The cached objects carrying label <paramref name="key"/>=<paramref name="value"/>.</summary>
    public IReadOnlyList<T> ListByLabel(string key, string value) =>
        Read(() => Lookup(_byLabel.GetValueOrDefault((key, value))));

    /// <summary>Stores or replaces an object; returns the one it replaced.</summary>
    internal T? Upsert(T obj)
    {
        var key = obj.Key();
        _lock.EnterWriteLock();
        try
        {
            var old = _items.GetValueOrDefault(key);
            if (old is not null)
            {
                Unindex(key, old);
            }

            _items[key] = obj;
            Index(key, obj);
            return old;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Removes an object; returns what was cached.</summary>
    internal T? Remove(ObjectKey key)
    {
        _lock.EnterWriteLock();
        try
        {
            if (!_items.Remove(key, out var old))
            {
                return null;
            }

            Unindex(key, old);
            return old;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    private IReadOnlyList<T> Lookup(HashSet<ObjectKey>? keys) =>
        keys is null ? [] : [.. keys.Select(k => _items[k])];

    private TResult Read<TResult>(Func<TResult> read)
    {
        _lock.EnterReadLock();
        try
        {
            return read();
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    private void Index(ObjectKey key, T obj)
    {
        Add(_byNamespace, obj.Metadata.Namespace ?? "", key);
        foreach (var label in obj.Metadata.Labels ?? [])
        {
            Add(_byLabel, (label.Key, label.Value), key);
        }
    }

    private void Unindex(ObjectKey key, T obj)
    {
        Drop(_byNamespace, obj.Metadata.Namespace ?? "", key);
        foreach (var label in obj.Metadata.Labels ?? [])
        {
            Drop(_byLabel, (label.Key, label.Value), key);
        }
    }

    private static void Add<TIndex>(Dictionary<TIndex, HashSet<ObjectKey>> index, TIndex value, ObjectKey key)
        where TIndex : notnull
    {
        if (!index.TryGetValue(value, out var keys))
        {
            index[value] = keys = [];
        }

        keys.Add(key);
    }

    private static void Drop<TIndex>(Dictionary<TIndex, HashSet<ObjectKey>> index, TIndex value, ObjectKey key)
        where TIndex : notnull
    {
        if (index.TryGetValue(value, out var keys) && keys.Remove(key) && keys.Count == 0)
        {
            index.Remove(value);
        }
    }
}
