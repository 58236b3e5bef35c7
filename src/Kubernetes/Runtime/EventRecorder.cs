using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Threading.Channels;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentMetrics.Kubernetes.Runtime;

/// <summary>
/// Records core/v1 Events about objects. A repeat of the same event bumps the count of the one
/// already written instead of writing another. Recording is best effort: a failure is logged, never thrown.
/// </summary>
/// <remarks>
/// <see cref="Post"/> is what a reconcile uses: the event is queued and written by a sender of its
/// own, so a status change is not held up by its Event (a flip of a flag changes a thousand statuses
/// at once, and each Event is a second write). Events of one object keep their order; when the queue
/// is full, new events are dropped and counted, as an event is a note and the status is the record.
/// </remarks>
public sealed class EventRecorder(KubernetesClient client, string component, ILogger? logger = null) : IDisposable
{
    private const int Remembered = 4096;

    /// <summary>Senders writing queued events at once; events of one object always go to the same one.</summary>
    public const int Senders = 4;

    /// <summary>Queued events per sender before new ones are dropped.</summary>
    public const int QueuedPerSender = 1024;

    private readonly ConcurrentDictionary<(string?, string, string, string), (string Name, int Count)> _recent = new();
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _startLock = new();
    private Channel<Queued>[]? _queues;
    private long _dropped;

    /// <summary>Events dropped because their sender's queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues an event to be written by a sender; returns at once and never throws (after <see cref="Dispose"/>, drops it).</summary>
    public void Post(IKubernetesObject regarding, string type, string reason, string message)
    {
        if (_stopping.IsCancellationRequested)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        var queues = Queues();
        var uid = regarding.Metadata.Uid ?? regarding.Metadata.Name ?? "";
        var queue = queues[(int)((uint)StringComparer.Ordinal.GetHashCode(uid) % queues.Length)];
        if (!queue.Writer.TryWrite(new Queued(regarding, type, reason, message, DateTimeOffset.UtcNow)))
        {
            if (Interlocked.Increment(ref _dropped) == 1)
            {
                _logger.LogWarning("the event queue is full; events are dropped until it drains (first: {Reason} for {Object})", reason, regarding.Metadata.Name);
            }
        }
    }

    /// <summary>Waits until every event queued so far has been written or has failed.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var queues = Queues();
        var marks = queues.Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        for (var i = 0; i < queues.Length; i++)
        {
            await queues[i].Writer.WriteAsync(new Queued(null, "", "", "", default, marks[i]), cancellationToken);
        }

        await Task.WhenAll(marks.Select(m => m.Task)).WaitAsync(cancellationToken);
    }

    /// <summary>Stops the senders; events still queued are not written.</summary>
    /// <remarks>The token source is cancelled, not disposed: a sender may still be reading its token.</remarks>
    public void Dispose()
    {
        _stopping.Cancel();
        foreach (var queue in _queues ?? [])
        {
            queue.Writer.TryComplete();
        }
    }

    /// <summary>Records a Normal event.</summary>
    public Task NormalAsync(IKubernetesObject regarding, string reason, string message, CancellationToken cancellationToken = default) =>
        RecordAsync(regarding, "Normal", reason, message, cancellationToken);

    /// <summary>Records a Warning event.</summary>
    public Task WarningAsync(IKubernetesObject regarding, string reason, string message, CancellationToken cancellationToken = default) =>
        RecordAsync(regarding, "Warning", reason, message, cancellationToken);

    /// <summary>
    /// Records a Warning event at most once per object and reason, also across restarts and replicas:
    /// the event's name is derived from the object's UID and the reason, so a second one is refused as
    /// existing (until the API server expires the first, an hour by default).
    /// </summary>
    public async Task WarningOnceAsync(IKubernetesObject regarding, string reason, string message, CancellationToken cancellationToken = default)
    {
        var meta = regarding.Metadata;
        var digest = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{meta.Uid}/{reason}"));
        var name = $"{meta.Name}.{Convert.ToHexString(digest, 0, 8).ToLowerInvariant()}";
        try
        {
            await CreateAsync(regarding, name, "Warning", reason, message, DateTimeOffset.UtcNow, cancellationToken);
        }
        catch (KubernetesApiException e) when (e.IsAlreadyExists)
        {
            // Recorded before, by this process or an earlier one.
        }
        catch (Exception e) when (e is KubernetesApiException or HttpRequestException or IOException or TimeoutException)
        {
            _logger.LogWarning("recording event {Reason} for {Object} failed: {Error}", reason, meta.Name, e.Message);
        }
    }

    private Channel<Queued>[] Queues()
    {
        if (Volatile.Read(ref _queues) is { } started)
        {
            return started;
        }

        lock (_startLock)
        {
            if (_queues is null)
            {
                var queues = Enumerable.Range(0, Senders)
                    .Select(_ => Channel.CreateBounded<Queued>(new BoundedChannelOptions(QueuedPerSender)
                    {
                        FullMode = BoundedChannelFullMode.DropWrite,
                        SingleReader = true,
                    }))
                    .ToArray();
                var token = _stopping.Token;
                foreach (var queue in queues)
                {
                    _ = Task.Run(() => SendAsync(queue.Reader, token), CancellationToken.None);
                }

                Volatile.Write(ref _queues, queues);
            }

            return _queues;
        }
    }

    private async Task SendAsync(ChannelReader<Queued> queue, CancellationToken stopping)
    {
        try
        {
            await foreach (var queued in queue.ReadAllAsync(stopping))
            {
                if (queued.Flushed is { } flushed)
                {
                    flushed.TrySetResult();
                    continue;
                }

                try
                {
                    await RecordAsync(queued.Regarding!, queued.Type, queued.Reason, queued.Message, stopping, queued.At);
                }
                catch (OperationCanceledException e) when (!stopping.IsCancellationRequested)
                {
                    _logger.LogWarning("recording event {Reason} for {Object} failed: {Error}", queued.Reason, queued.Regarding!.Metadata.Name, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopped with events still queued: they were notes, the statuses hold what they said.
        }
    }

    private async Task RecordAsync(
        IKubernetesObject regarding, string type, string reason, string message, CancellationToken cancellationToken, DateTimeOffset? at = null)
    {
        var meta = regarding.Metadata;
        var @namespace = meta.Namespace ?? "default";
        var key = (meta.Uid, type, reason, message);
        var now = at ?? DateTimeOffset.UtcNow;
        try
        {
            if (_recent.TryGetValue(key, out var seen))
            {
                var count = seen.Count + 1;
                var stamp = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
                await client.PatchAsync(
                    ResourceType.Events, @namespace, seen.Name, PatchKind.Merge,
                    string.Create(CultureInfo.InvariantCulture, $$"""{"count":{{count}},"lastTimestamp":"{{stamp}}"}"""),
                    KubernetesJsonContext.Default.KubernetesObject, cancellationToken: cancellationToken);
                _recent[key] = (seen.Name, count);
                return;
            }

            var name = $"{meta.Name}.{Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant()}";
            await CreateAsync(regarding, name, type, reason, message, now, cancellationToken);
            if (_recent.Count >= Remembered)
            {
                _recent.Clear();
            }

            _recent[key] = (name, 1);
        }
        catch (Exception e) when (e is KubernetesApiException or HttpRequestException or IOException or TimeoutException)
        {
            _logger.LogWarning("recording event {Reason} for {Object} failed: {Error}", reason, meta.Name, e.Message);
        }
    }

    private async Task CreateAsync(
        IKubernetesObject regarding, string name, string type, string reason, string message, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var meta = regarding.Metadata;
        var @namespace = meta.Namespace ?? "default";
        await client.CreateAsync(
            ResourceType.Events, @namespace,
            new Event
            {
                Metadata = new ObjectMeta { Name = name, Namespace = @namespace },
                InvolvedObject = new ObjectReference
                {
                    ApiVersion = regarding.ApiVersion,
                    Kind = regarding.Kind,
                    Name = meta.Name,
                    Namespace = meta.Namespace,
                    Uid = meta.Uid,
                    ResourceVersion = meta.ResourceVersion,
                },
                Type = type,
                Reason = reason,
                Message = message,
                Source = new EventSource { Component = component },
                ReportingComponent = component,
                Count = 1,
                FirstTimestamp = now,
                LastTimestamp = now,
            },
            KubernetesJsonContext.Default.Event,
            cancellationToken);
    }

    private sealed record Queued(
        IKubernetesObject? Regarding, string Type, string Reason, string Message, DateTimeOffset At, TaskCompletionSource? Flushed = null);
}
