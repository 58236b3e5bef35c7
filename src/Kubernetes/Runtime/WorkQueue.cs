using System.Diagnostics;

namespace AgentMetrics.Kubernetes.Runtime;

/// <summary>
/// The queue between watch and reconcile. A key waiting is never queued twice; a key being
/// processed is never handed to a second worker, and if it changes meanwhile it is queued again
/// when the first worker is done. Failures back off exponentially per key, up to a cap, and are
/// forgotten on success.
/// </summary>
public sealed class WorkQueue<TKey> : IDisposable
    where TKey : notnull
{
    private readonly Lock _lock = new();
    private readonly Queue<TKey> _queue = new();
    private readonly HashSet<TKey> _dirty = [];
    private readonly HashSet<TKey> _processing = [];
    private readonly Dictionary<TKey, int> _failures = [];
    private readonly Dictionary<TKey, long> _waiting = [];
    private readonly Dictionary<TKey, long> _queuedAt = [];
    private readonly Dictionary<TKey, long> _takenAt = [];
    private readonly TagList _tags;
    private readonly SemaphoreSlim _ready = new(0);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly TimeProvider _clock;

    /// <summary>Creates a queue; <paramref name="name"/> labels its depth metric.</summary>
    public WorkQueue(string name, TimeSpan? baseDelay = null, TimeSpan? maxDelay = null, TimeProvider? clock = null)
    {
        Name = name;
        BaseDelay = baseDelay ?? TimeSpan.FromMilliseconds(5);
        MaxDelay = maxDelay ?? TimeSpan.FromMinutes(5);
        _clock = clock ?? TimeProvider.System;
        _tags = RuntimeMetrics.QueueTags(name);
        RuntimeMetrics.TrackQueue(name, () => Depth);
    }

    /// <summary>The queue's name.</summary>
    public string Name { get; }

    /// <summary>The delay after the first failure; it doubles with each further one.</summary>
    public TimeSpan BaseDelay { get; }

    /// <summary>The longest delay after failures.</summary>
    public TimeSpan MaxDelay { get; }

    /// <summary>Keys ready to be taken.</summary>
    public int Depth
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Queues a key unless it is already waiting.</summary>
    public void Add(TKey key)
    {
        lock (_lock)
        {
            if (_shutdown.IsCancellationRequested || !_dirty.Add(key))
            {
                return;
            }

            RuntimeMetrics.QueueAdds.Add(1, _tags);
            if (_processing.Contains(key))
            {
                return;
            }

            Enqueue(key);
        }

        _ready.Release();
    }

    /// <summary>Queues a key after a delay; an earlier pending delay for the same key wins.</summary>
    public void AddAfter(TKey key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }

        var due = _clock.GetTimestamp() + (long)(delay.TotalSeconds * _clock.TimestampFrequency);
        lock (_lock)
        {
            if (_waiting.TryGetValue(key, out var pending) && pending <= due)
            {
                return;
            }

            _waiting[key] = due;
        }

        _ = AddWhenDueAsync(key, due, delay);
    }

    /// <summary>Queues a key after its failure backoff (base × 2^(failures−1), capped) and returns that delay.</summary>
    public TimeSpan AddRateLimited(TKey key)
    {
        int failures;
        lock (_lock)
        {
            failures = _failures[key] = _failures.GetValueOrDefault(key) + 1;
        }

        var delay = TimeSpan.FromTicks((long)Math.Min(BaseDelay.Ticks * Math.Pow(2, failures - 1), MaxDelay.Ticks));
        RuntimeMetrics.QueueRetries.Add(1, _tags);
        AddAfter(key, delay);
        return delay;
    }

    /// <summary>How many times in a row the key has failed.</summary>
    public int Failures(TKey key)
    {
        lock (_lock)
        {
            return _failures.GetValueOrDefault(key);
        }
    }

    /// <summary>Clears the key's failure count, after a success.</summary>
    public void Forget(TKey key)
    {
        lock (_lock)
        {
            _failures.Remove(key);
        }
    }

    /// <summary>Waits for a key and marks it as being processed; call <see cref="Done"/> after.</summary>
    public async Task<TKey> TakeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await _ready.WaitAsync(cancellationToken);
            lock (_lock)
            {
                if (_queue.TryDequeue(out var key))
                {
                    _dirty.Remove(key);
                    _processing.Add(key);
                    var now = _clock.GetTimestamp();
                    if (_queuedAt.Remove(key, out var queued))
                    {
                        RuntimeMetrics.QueueDuration.Record(_clock.GetElapsedTime(queued, now).TotalSeconds, _tags);
                    }

                    _takenAt[key] = now;
                    return key;
                }
            }
        }
    }

    /// <summary>Marks a key as no longer processed, queueing it again if it was added meanwhile.</summary>
    public void Done(TKey key)
    {
        lock (_lock)
        {
            _processing.Remove(key);
            if (_takenAt.Remove(key, out var taken))
            {
                RuntimeMetrics.WorkDuration.Record(_clock.GetElapsedTime(taken).TotalSeconds, _tags);
            }

            if (!_dirty.Contains(key))
            {
                return;
            }

            Enqueue(key);
        }

        _ready.Release();
    }

    private void Enqueue(TKey key)
    {
        _queue.Enqueue(key);
        _queuedAt[key] = _clock.GetTimestamp();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _shutdown.Cancel();
        RuntimeMetrics.UntrackQueue(Name);
        _shutdown.Dispose();
        _ready.Dispose();
    }

    private async Task AddWhenDueAsync(TKey key, long due, TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _clock, _shutdown.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        lock (_lock)
        {
            if (!_waiting.TryGetValue(key, out var pending) || pending != due)
            {
                return;
            }

            _waiting.Remove(key);
        }

        Add(key);
    }
}
