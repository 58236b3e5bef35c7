using System.Text.Json.Nodes;
using AgentMetrics.Api.Streaming;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Operator.Streaming;

/// <summary>
/// GET /v1/definitions/watch?namespace=&amp;pod=: sends a sidecar, as NDJSON, a snapshot of the
/// definitions selecting its pod at once and again on every change to that set, a heartbeat when the
/// stream has been quiet, and ends when the pod is gone or the operator stops.
/// </summary>
public static class DefinitionStreamEndpoint
{
    private static readonly byte[] HeartbeatLine = DefinitionFeed.Line(DefinitionStreamMessage.Heartbeat());

    /// <summary>
    /// How long a request that comes while the operator is still loading its caches is held before it
    /// is refused with Retry-After. After a restart thousands of sidecars come at once; held, each is
    /// served as soon as the caches are filled, where a refusal costs it a round trip and a wait.
    /// </summary>
    public static readonly TimeSpan StartupWait = TimeSpan.FromSeconds(10);

    /// <summary>Maps the endpoint; <paramref name="stopping"/> ends every open stream so shutdown need not wait for them.</summary>
    public static void MapDefinitionStream(
        this IEndpointRouteBuilder endpoints, DefinitionFeed feed, TokenReviewer reviewer, TimeSpan heartbeat, ILogger logger,
        CancellationToken stopping) =>
        endpoints.MapGet(DefinitionStream.Path, (HttpContext context) => ServeAsync(context, feed, reviewer, heartbeat, logger, stopping));

    private static async Task ServeAsync(
        HttpContext context, DefinitionFeed feed, TokenReviewer reviewer, TimeSpan heartbeat, ILogger logger, CancellationToken stopping)
    {
        var @namespace = context.Request.Query["namespace"].ToString();
        var name = context.Request.Query["pod"].ToString();
        var (refusal, pod) = await AdmitAsync(context, feed, reviewer, @namespace, name, logger);
        if (refusal is not null)
        {
            StreamMetrics.Requests.Add(1, new KeyValuePair<string, object?>("code", refusal.StatusCode));
            logger.LogInformation(
                "definitions stream for pod {Namespace}/{Pod} refused with {Code}: {Message}", @namespace, name, refusal.StatusCode, refusal.Message);
            if (refusal.StatusCode == StatusCodes.Status401Unauthorized)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
            }

            await Results.Json(new JsonObject { ["error"] = refusal.Message }, KubernetesJsonContext.Default.JsonObject, statusCode: refusal.StatusCode)
                .ExecuteAsync(context);
            return;
        }

        StreamMetrics.Requests.Add(1, new KeyValuePair<string, object?>("code", StatusCodes.Status200OK));
        context.Response.ContentType = DefinitionStream.MediaType;
        context.Response.Headers.CacheControl = "no-store";
        using var open = StreamMetrics.Open();
        using var subscription = feed.Subscribe(@namespace);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        logger.LogDebug("definitions stream for pod {Namespace}/{Pod} opened", @namespace, name);
        try
        {
            await StreamAsync(context.Response, feed, subscription, @namespace, name, pod!.Metadata.Uid, heartbeat, stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The sidecar hung up or the operator is stopping: either way the stream is over.
        }
        catch (IOException)
        {
            // The connection broke mid-write; the sidecar will connect again.
        }
        finally
        {
            // Ends the wait for a change and the heartbeat delay still pending.
            await stop.CancelAsync();
        }

        logger.LogDebug("definitions stream for pod {Namespace}/{Pod} closed", @namespace, name);
    }

    private static async Task<(Refusal? Refusal, KubernetesObject? Pod)> AdmitAsync(
        HttpContext context, DefinitionFeed feed, TokenReviewer reviewer, string @namespace, string name, ILogger logger)
    {
        if (@namespace.Length == 0 || name.Length == 0)
        {
            var missing = string.Join(" and ", new[] { ("namespace", @namespace), ("pod", name) }.Where(p => p.Item2.Length == 0).Select(p => p.Item1));
            return (new(400, $"query parameter {missing} is required: {DefinitionStream.Path}?namespace=<namespace>&pod=<pod>"), null);
        }

        var authorization = context.Request.Headers.Authorization.ToString();
        var token = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : "";
        if (token.Length == 0)
        {
            return (new(401, "an Authorization: Bearer header with the pod's service-account token is required"), null);
        }

        if (!feed.HasSynced && !await SyncedWithinAsync(feed, StartupWait, context.RequestAborted))
        {
            context.Response.Headers.RetryAfter = "1";
            return (new(503, "the operator is still loading pods and definitions; try again in a moment"), null);
        }

        TokenReviewStatus review;
        try
        {
            review = await reviewer.ReviewAsync(token, context.RequestAborted);
        }
        catch (Exception e) when (e is KubernetesApiException or HttpRequestException or TimeoutException)
        {
            logger.LogWarning("could not review the token of a definitions stream for pod {Namespace}/{Pod}: {Error}", @namespace, name, e.Message);
            return (new(503, $"the operator could not review the token with the API server: {e.Message}"), null);
        }

        if (!review.Authenticated || review.User is null)
        {
            return (new(401, $"the bearer token was not accepted by the API server: {review.Error ?? "not authenticated"}"), null);
        }

        var pod = feed.Pod(@namespace, name);
        return (StreamAccess.Check(review.User, @namespace, name, pod), pod);
    }

    private static async Task<bool> SyncedWithinAsync(DefinitionFeed feed, TimeSpan wait, CancellationToken aborted)
    {
        try
        {
            await feed.WaitForSyncAsync(aborted).WaitAsync(wait, aborted);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private static async Task StreamAsync(
        HttpResponse response, DefinitionFeed feed, FeedSubscription subscription, string @namespace, string name, string? uid,
        TimeSpan heartbeat, CancellationToken cancellationToken)
    {
        byte[]? last = null;
        Task? changed = null;
        Task? quiet = null;
        while (true)
        {
            var pod = feed.Pod(@namespace, name);
            if (pod is null || pod.Metadata.Uid != uid)
            {
                // Gone, or replaced by a pod of the same name that must authenticate on its own.
                return;
            }

            // Shared with every stream of pods alike; a new array after a change may still say the same.
            var snapshot = feed.Snapshot(@namespace, pod.Metadata.Labels);
            if (last is null || (!ReferenceEquals(snapshot, last) && !snapshot.AsSpan().SequenceEqual(last)))
            {
                if (!await WriteAsync(response, snapshot, cancellationToken))
                {
                    return;
                }

                StreamMetrics.Snapshots.Add(1);
                last = snapshot;
                quiet = null;
            }

            changed ??= subscription.ChangedAsync(cancellationToken);
            quiet ??= Task.Delay(heartbeat, cancellationToken);
            if (await Task.WhenAny(changed, quiet) == changed)
            {
                await changed;
                changed = null;
            }
            else
            {
                await quiet;
                quiet = null;
                if (!await WriteAsync(response, HeartbeatLine, cancellationToken))
                {
                    return;
                }
            }
        }
    }

    /// <summary>Writes one line and flushes it at once; false when the sidecar is gone.</summary>
    private static async Task<bool> WriteAsync(HttpResponse response, byte[] line, CancellationToken cancellationToken)
    {
        var flushed = await response.BodyWriter.WriteAsync(line, cancellationToken);
        return !flushed.IsCompleted && !flushed.IsCanceled;
    }
}
