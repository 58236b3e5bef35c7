using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Operator.Streaming;

/// <summary>
/// Asks the API server, by TokenReview, whose a bearer token is. Accepted tokens are remembered for
/// a short while, keyed by their SHA-256, so that every sidecar reconnecting at once after an
/// operator restart does not become as many reviews.
/// </summary>
public sealed class TokenReviewer(KubernetesClient client, TimeProvider? clock = null)
{
    /// <summary>How long an accepted token is trusted without asking again.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(60);

    /// <summary>At most this many tokens are remembered; past it, tokens are reviewed every time.</summary>
    public const int MaxCached = 10_000;

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, (UserInfo User, DateTimeOffset Until)> _accepted = new(StringComparer.Ordinal);

    /// <summary>The review's status: authenticated with the user, or not with the API server's reason.</summary>
    /// <exception cref="KubernetesApiException">The API server refused the review itself (RBAC, say).</exception>
    public async Task<TokenReviewStatus> ReviewAsync(string token, CancellationToken cancellationToken)
    {
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        var now = _clock.GetUtcNow();
        if (_accepted.TryGetValue(key, out var known) && known.Until > now)
        {
            StreamMetrics.TokenReviews.Add(1, new KeyValuePair<string, object?>("result", "cached"));
            return new TokenReviewStatus { Authenticated = true, User = known.User };
        }

        TokenReview review;
        try
        {
            review = await client.CreateAsync(
                ResourceType.TokenReviews, null, new TokenReview { Spec = new() { Token = token } }, KubernetesJsonContext.Default.TokenReview,
                cancellationToken);
        }
        catch (Exception e) when (e is KubernetesApiException or HttpRequestException or TimeoutException)
        {
            StreamMetrics.TokenReviews.Add(1, new KeyValuePair<string, object?>("result", "failed"));
            throw;
        }

        var status = review.Status ?? new TokenReviewStatus { Error = "the API server returned no review status" };
        StreamMetrics.TokenReviews.Add(1, new KeyValuePair<string, object?>("result", status.Authenticated ? "authenticated" : "unauthenticated"));
        if (status.Authenticated && status.User is { } user)
        {
            Remember(key, user, now + CacheFor);
        }

        return status;
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
