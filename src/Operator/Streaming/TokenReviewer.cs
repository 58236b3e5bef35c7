using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Operator.Streaming;

/// <summary>
/// Asks the API server, by TokenReview, whose a bearer token is. Accepted tokens are remembered for
/// a short while, keyed by their SHA-256, and at most <see cref="MaxConcurrentReviews"/> reviews are
/// in flight at once, so that thousands of sidecars reconnecting after an operator restart wait their
/// turn here rather than exceed the API server's in-flight limit and be answered 429.
/// </summary>
public sealed class TokenReviewer(KubernetesClient client, TimeProvider? clock = null)
{
    /// <summary>How long an accepted token is trusted without asking again.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(60);

    /// <summary>At most this many tokens are remembered; past it, tokens are reviewed every time.</summary>
    public const int MaxCached = 10_000;

    /// <summary>
    /// At most this many reviews are sent to the API server at once; the rest wait. Well under the
    /// API server's default limit of 200 mutating requests in flight (a review is a create).
    /// </summary>
    public const int MaxConcurrentReviews = 32;

    private readonly SemaphoreSlim _inFlight = new(MaxConcurrentReviews);

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, (UserInfo User, DateTimeOffset Until)> _accepted = new(StringComparer.Ordinal);

    /// <summary>The review's status: authenticated with the user, or not with the API server's reason.</summary>
    /// <exception cref="KubernetesApiException">The API server refused the review itself (RBAC, say).</exception>
    public async Task<TokenReviewStatus> ReviewAsync(string token, CancellationToken cancellationToken)
    {
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        var now = _clock.GetUtcNow();
        if (Cached(key, now) is { } remembered)
        {
            return remembered;
        }

        await _inFlight.WaitAsync(cancellationToken);
        TokenReview review;
        try
        {
            // Another stream with the same token may have been reviewed while this one waited.
            if (Cached(key, _clock.GetUtcNow()) is { } meanwhile)
            {
                return meanwhile;
            }

            review = await client.CreateAsync(
                ResourceType.TokenReviews, null, new TokenReview { Spec = new() { Token = token } }, KubernetesJsonContext.Default.TokenReview,
                cancellationToken);
        }
        catch (Exception e) when (e is KubernetesApiException or HttpRequestException or TimeoutException)
        {
            StreamMetrics.TokenReviews.Add(1, new KeyValuePair<string, object?>("result", "failed"));
            throw;
        }
        finally
        {
            _inFlight.Release();
        }

        var status = review.Status ?? new TokenReviewStatus { Error = "the API server returned no review status" };
        StreamMetrics.TokenReviews.Add(1, new KeyValuePair<string, object?>("result", status.Authenticated ? "authenticated" : "unauthenticated"));
        if (status.Authenticated && status.User is { } user)
        {
            Remember(key, user, now + CacheFor);
        }

        return status;
    }

    private TokenReviewStatus? Cached(string key, DateTimeOffset now)
    {
        if (!_accepted.TryGetValue(key, out var known) || known.Until <= now)
        {
            return null;
        }

        StreamMetrics.TokenReviews.Add(1, new KeyValuePair<string, object?>("result", "cached"));
        return new TokenReviewStatus { Authenticated = true, User = known.User };
    }

    private void Remember(string key, UserInfo user, DateTimeOffset until)
    {
        if (_accepted.Count >= MaxCached)
        {
            var now = _clock.GetUtcNow();
            foreach (var (stale, entry) in _accepted)
            {
                if (entry.Until <= now)
                {
                    _accepted.TryRemove(stale, out _);
                }
            }

            if (_accepted.Count >= MaxCached)
            {
                return;
            }
        }

        _accepted[key] = (user, until);
    }
}
