using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentMetrics.Kubernetes.Runtime;

/// <summary>
/// Records core/v1 Events about objects. A repeat of the same event bumps the count of the one
/// already written instead of writing another. Recording is best effort: a failure is logged, never thrown.
/// </summary>
public sealed class EventRecorder(KubernetesClient client, string component, ILogger? logger = null)
{
    private const int Remembered = 4096;
    private readonly ConcurrentDictionary<(string?, string, string, string), (string Name, int Count)> _recent = new();
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

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

    private async Task RecordAsync(IKubernetesObject regarding, string type, string reason, string message, CancellationToken cancellationToken)
    {
        var meta = regarding.Metadata;
        var @namespace = meta.Namespace ?? "default";
        var key = (meta.Uid, type, reason, message);
        var now = DateTimeOffset.UtcNow;
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
}
