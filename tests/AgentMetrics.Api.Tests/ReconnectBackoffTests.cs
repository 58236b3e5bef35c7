using System.Net.Http.Headers;
using AgentMetrics.Api.Streaming;
using Xunit;

namespace AgentMetrics.Api.Tests;

public sealed class ReconnectBackoffTests
{
    [Fact]
    public void WithoutAWordFromTheOperatorTheWaitDoublesWithJitterUpToTheCap()
    {
        var backoff = new ReconnectBackoff(new Random(7));
        var floor = ReconnectBackoff.First;
        for (var i = 0; i < 12; i++)
        {
            var wait = backoff.Failed();
            Assert.InRange(wait, floor * 0.8, floor * 1.2);
            floor = TimeSpan.FromTicks(Math.Min(floor.Ticks * 2, ReconnectBackoff.Max.Ticks));
        }

        Assert.Equal(ReconnectBackoff.Max, floor);
    }

    [Fact]
    public void ASnapshotStartsTheDoublingAgain()
    {
        var backoff = new ReconnectBackoff(new Random(7));
        for (var i = 0; i < 8; i++)
        {
            backoff.Failed();
        }

        backoff.Connected();
        Assert.InRange(backoff.Failed(), ReconnectBackoff.First * 0.8, ReconnectBackoff.First * 1.2);
    }

    [Fact]
    public void ARetryAfterIsWhenToComeBackAndDoesNotGrowTheBackoff()
    {
        var backoff = new ReconnectBackoff(new Random(7));
        backoff.Failed();
        backoff.Failed();
        for (var i = 0; i < 20; i++)
        {
            Assert.InRange(backoff.Failed(TimeSpan.FromSeconds(3)), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3.5));
        }

        // Two failures without a word before: the next wait is the third step, 1 s, not one grown by the Retry-Afters.
        Assert.InRange(backoff.Failed(), TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(1.2));
        Assert.InRange(backoff.Failed(TimeSpan.FromHours(1)), ReconnectBackoff.MaxRetryAfter, ReconnectBackoff.MaxRetryAfter + TimeSpan.FromSeconds(0.5));
    }

    [Fact]
    public void RetryAfterIsReadInSecondsOrAsADate()
    {
        var now = new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromSeconds(2), ReconnectBackoff.RetryAfter(new RetryConditionHeaderValue(TimeSpan.FromSeconds(2)), now));
        Assert.Equal(TimeSpan.FromSeconds(5), ReconnectBackoff.RetryAfter(new RetryConditionHeaderValue(now.AddSeconds(5)), now));
        Assert.Equal(TimeSpan.Zero, ReconnectBackoff.RetryAfter(new RetryConditionHeaderValue(now.AddSeconds(-5)), now));
        Assert.Null(ReconnectBackoff.RetryAfter(null, now));
    }
}
