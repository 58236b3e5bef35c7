using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentMetrics.Kubernetes.Runtime;

/// <summary>A change the informer saw: the object before (null when added) and after (the last state when deleted).</summary>
public sealed record InformerEvent<T>(WatchEventType Type, T? Old, T Object);

/// <summary>Tuning for an informer.</summary>
public sealed record InformerOptions
{
    /// <summary>Restrict the informer to one namespace; null watches all namespaces.</summary>
    public string? Namespace { get; init; }

    public string? LabelSelector { get; init; }

    public int PageSize { get; init; } = 500;

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Keeps a cache of one kind current: list, then watch from the list's resourceVersion with
/// bookmarks; watch again when the stream ends; relist on 410 Gone, reporting objects that vanished
/// meanwhile as deleted; reconnect with capped exponential backoff and jitter while the API server
/// is away. Handlers run on the informer's loop and should only enqueue work.
/// </summary>
public sealed class Informer<T>
    where T : class, IKubernetesObject
{
    private readonly KubernetesClient _client;
    private readonly JsonTypeInfo<T> _typeInfo;
    private readonly InformerOptions _options;
    private readonly ILogger _logger;
    private readonly List<Action<InformerEvent<T>>> _handlers = [];
    private readonly Func<T, T> _transform;
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Creates an informer; nothing happens until <see cref="RunAsync"/>. <paramref name="transform"/>, when
    /// given, turns every object into what is cached and handed to handlers: the fields its readers use,
    /// so a cache of thousands of objects does not hold what nobody reads.
    /// </summary>
    public Informer(
        KubernetesClient client, ResourceType type, JsonTypeInfo<T> typeInfo, InformerOptions? options = null, ILogger? logger = null,
        Func<T, T>? transform = null)
    {
        _client = client;
        Type = type;
        _typeInfo = typeInfo;
        _options = options ?? new InformerOptions();
        _logger = logger ?? NullLogger.Instance;
        _transform = transform ?? (obj => obj);
    }

    /// <summary>The kind this informer watches.</summary>
    public ResourceType Type { get; }

    /// <summary>The objects as last seen.</summary>
    public ObjectCache<T> Cache { get; } = new();

    /// <summary>True once the first list has filled the cache.</summary>
    public bool HasSynced => _synced.Task.IsCompleted;

    /// <summary>Adds a handler for every change; register handlers before running.</summary>
    public void Subscribe(Action<InformerEvent<T>> handler) => _handlers.Add(handler);

    /// <summary>Completes once the first list has filled the cache.</summary>
    public Task WaitForSyncAsync(CancellationToken cancellationToken) => _synced.Task.WaitAsync(cancellationToken);

    /// <summary>Lists and watches until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = new Backoff(_options.InitialBackoff, _options.MaxBackoff);
        var resource = new KeyValuePair<string, object?>("resource", Type.Plural);
        string? version = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                version ??= await RelistAsync(cancellationToken);
                var opened = Stopwatch.StartNew();
                var events = 0;
                var watch = new WatchOptions
                {
                    ResourceVersion = version,
                    LabelSelector = _options.LabelSelector,
                    AllowBookmarks = true,
                    TimeoutSeconds = Random.Shared.Next(300, 600),
                };
                await foreach (var change in _client.WatchAsync(Type, _options.Namespace, _typeInfo, watch, cancellationToken))
                {
                    version = change.Object.Metadata.ResourceVersion ?? version;
                    events++;
                    RuntimeMetrics.WatchEvents.Add(1, resource);
                    Apply(change);
                    backoff.Reset();
                }

                RuntimeMetrics.WatchRestarts.Add(1, resource, new("reason", "closed"));
                if (events == 0 && opened.Elapsed < TimeSpan.FromSeconds(1))
                {
                    // A stream that closes at once, again and again, must not become a busy loop.
                    await Task.Delay(backoff.Next(), cancellationToken);
                }
            }
            catch (KubernetesApiException e) when (e.IsGone)
            {
                _logger.LogInformation("watch of {Resource} from {Version} is too old; listing again", Type.Plural, version);
                RuntimeMetrics.WatchRestarts.Add(1, resource, new("reason", "gone"));
                version = null;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or KubernetesApiException or TimeoutException or JsonException)
            {
                var delay = backoff.Next();
                _logger.LogWarning("watch of {Resource} failed ({Error}); trying again in {Delay} ms", Type.Plural, e.Message, (int)delay.TotalMilliseconds);
                RuntimeMetrics.WatchRestarts.Add(1, resource, new("reason", "error"));
                try
                {
                    await Task.Delay(delay, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    private async Task<string?> RelistAsync(CancellationToken cancellationToken)
    {
        var list = await _client.ListAllAsync(
            Type, _options.Namespace, _typeInfo, new ListOptions { LabelSelector = _options.LabelSelector }, _options.PageSize,
            cancellationToken);
        var seen = new HashSet<ObjectKey>();
        foreach (var obj in list.Items.Select(_transform))
        {
            seen.Add(obj.Key());
            var old = Cache.Upsert(obj);
            if (old is null)
            {
                Notify(new InformerEvent<T>(WatchEventType.Added, null, obj));
            }
            else if (old.Metadata.ResourceVersion != obj.Metadata.ResourceVersion)
            {
                Notify(new InformerEvent<T>(WatchEventType.Modified, old, obj));
            }
        }

        foreach (var cached in Cache.List())
        {
            if (!seen.Contains(cached.Key()) && Cache.Remove(cached.Key()) is { } gone)
            {
                Notify(new InformerEvent<T>(WatchEventType.Deleted, gone, gone));
            }
        }

        _synced.TrySetResult();
        return list.ResourceVersion;
    }

    private void Apply(WatchEvent<T> change)
    {
        switch (change.Type)
        {
            case WatchEventType.Added:
            case WatchEventType.Modified:
                var obj = _transform(change.Object);
                var old = Cache.Upsert(obj);
                Notify(new InformerEvent<T>(old is null ? WatchEventType.Added : WatchEventType.Modified, old, obj));
                break;
            case WatchEventType.Deleted:
                var removed = Cache.Remove(change.Object.Key());
                Notify(new InformerEvent<T>(WatchEventType.Deleted, removed, _transform(change.Object)));
                break;
            case WatchEventType.Bookmark:
                break;
        }
    }

    private void Notify(InformerEvent<T> change)
    {
        foreach (var handler in _handlers)
        {
            try
            {
                handler(change);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "a handler of {Resource} events failed", Type.Plural);
            }
        }
    }
}
