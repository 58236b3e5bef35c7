using AgentMetrics.Kubernetes.Runtime;
using Xunit;

namespace AgentMetrics.Kubernetes.Tests;

public sealed class WorkQueueTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task AKeyAddedTwiceWhileWaitingIsTakenOnce()
    {
        using var queue = new WorkQueue<string>("dedup");
        queue.Add("a");
        queue.Add("a");
        queue.Add("b");

        Assert.Equal(2, queue.Depth);
        Assert.Equal("a", await queue.TakeAsync(CancellationToken.None));
        Assert.Equal("b", await queue.TakeAsync(CancellationToken.None));
        Assert.Equal(0, queue.Depth);
    }

    [Fact]
    public async Task AKeyBeingProcessedIsNotHandedToASecondWorkerButQueuedAgainWhenDone()
    {
        using var queue = new WorkQueue<string>("exclusive");
        queue.Add("a");
        var first = await queue.TakeAsync(CancellationToken.None);

        queue.Add("a");
        Assert.Equal(0, queue.Depth);
        using var soon = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queue.TakeAsync(soon.Token));

        queue.Done(first);
        Assert.Equal(1, queue.Depth);
        Assert.Equal("a", await queue.TakeAsync(CancellationToken.None).WaitAsync(Patience));
    }

    [Fact]
    public void FailuresBackOffExponentiallyUpToTheCapAndAreForgottenOnSuccess()
    {
        using var queue = new WorkQueue<string>("backoff", TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50));

        var delays = Enumerable.Range(0, 5).Select(_ => queue.AddRateLimited("a").TotalMilliseconds).ToArray();

        Assert.Equal([10, 20, 40, 50, 50], delays);
        Assert.Equal(5, queue.Failures("a"));
        queue.Forget("a");
        Assert.Equal(0, queue.Failures("a"));
        Assert.Equal(10, queue.AddRateLimited("a").TotalMilliseconds);
    }

    [Fact]
    public async Task ADelayedKeyArrivesAfterItsDelayAndTheEarlierOfTwoDelaysWins()
    {
        using var queue = new WorkQueue<string>("delayed");
        var clock = System.Diagnostics.Stopwatch.StartNew();

        queue.AddAfter("a", TimeSpan.FromSeconds(30));
        queue.AddAfter("a", TimeSpan.FromMilliseconds(100));

        Assert.Equal("a", await queue.TakeAsync(CancellationToken.None).WaitAsync(Patience));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(90), TimeSpan.FromSeconds(5));
    }
}
