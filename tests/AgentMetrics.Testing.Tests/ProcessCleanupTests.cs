using System.Diagnostics;
using System.Globalization;
using Xunit;

namespace AgentMetrics.Testing.Tests;

/// <summary>Proves no process the tests start outlives them: on disposal, and after the runner is killed.</summary>
public sealed class ProcessCleanupTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task DisposingAServerStopsItsProcess()
    {
        var prometheus = await PrometheusServer.StartAsync("global:\n  scrape_interval: 1s\n");
        var identity = prometheus.Process!.Identity;
        Assert.True(identity.IsAlive);
        Assert.Contains(
            $"{identity.Pid} {identity.StartTicks} prometheus",
            await File.ReadAllTextAsync(Path.Combine(ProcessRegistry.Current.RunDirectory, "pids")),
            StringComparison.Ordinal);

        await prometheus.DisposeAsync();

        Assert.False(identity.IsAlive);
    }

    [Fact]
    public async Task SweepStopsWhatARunWhoseRunnerIsGoneLeftAndSaysSo()
    {
        var root = ScratchRoot();
        var deadRunner = await StartAndReapAsync("true");
        var leftover = Spawn("sleep", "300");
        try
        {
            var runDirectory = Path.Combine(root, RunName(deadRunner));
            Directory.CreateDirectory(runDirectory);
            await File.WriteAllTextAsync(Path.Combine(runDirectory, "pids"), PidLine(leftover, "leftover-sleep"));

            var report = ProcessRegistry.RunReaper("sweep", root);

            Assert.Contains($"stopped leftover-sleep (pid {leftover.Pid})", report, StringComparison.Ordinal);
            Assert.False(leftover.IsAlive);
            Assert.False(Directory.Exists(runDirectory));
        }
        finally
        {
            Kill(leftover);
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task SweepLeavesARunWhoseRunnerIsAliveAlone()
    {
        var root = ScratchRoot();
        var runner = Spawn("sleep", "300");
        var child = Spawn("sleep", "300");
        try
        {
            var runDirectory = Path.Combine(root, RunName(runner));
            Directory.CreateDirectory(runDirectory);
            await File.WriteAllTextAsync(Path.Combine(runDirectory, "pids"), PidLine(child, "child-sleep"));

            var report = ProcessRegistry.RunReaper("sweep", root);

            Assert.Equal("", report);
            Assert.True(child.IsAlive);
        }
        finally
        {
            Kill(runner);
            Kill(child);
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task WatcherStopsTheRunsProcessesWhenTheRunnerIsKilled()
    {
        var root = ScratchRoot();
        var runner = Spawn("sleep", "300");
        var child = Spawn("sleep", "300");
        var runDirectory = Path.Combine(root, RunName(runner));
        Directory.CreateDirectory(runDirectory);
        await File.WriteAllTextAsync(Path.Combine(runDirectory, "pids"), PidLine(child, "child-sleep"));
        using var watcher = Process.Start(
            "bash",
            [RepoPaths.Combine("hack", "reap.sh"), "watch", Str(runner.Pid), Str(runner.StartTicks), runDirectory])!;
        try
        {
            Kill(runner);

            await Eventually.UntilAsync(() => Task.FromResult(!child.IsAlive), Patience, "the watcher to stop the child");
            await watcher.WaitForExitAsync().WaitAsync(Patience);
            var log = await File.ReadAllTextAsync(Path.Combine(root, "reaped.log"));
            Assert.Contains($"stopped child-sleep (pid {child.Pid})", log, StringComparison.Ordinal);
            Assert.False(Directory.Exists(runDirectory));
        }
        finally
        {
            Kill(runner);
            Kill(child);
            if (!watcher.HasExited)
            {
                watcher.Kill();
            }

            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task SweepRemovesTheContainersShimsBridgeAndCgroupsOfANodeARunLeft()
    {
        var root = ScratchRoot();
        var deadRunner = await StartAndReapAsync("true");
        var id = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        var (bridge, cgroup) = ($"agm-{id}", $"agent-metrics-{id}");
        var nodeDirectory = Path.Combine(root, RunName(deadRunner), $"node-{id}");
        Directory.CreateDirectory(nodeDirectory);
        await File.WriteAllTextAsync(Path.Combine(nodeDirectory, "node.env"), $"bridge={bridge}\nnetwork={bridge}\ncgroup={cgroup}\n");
        await Command.RunAsync(Tools.Ip, "link", "add", bridge, "type", "bridge");
        var hierarchies = Directory.GetDirectories("/sys/fs/cgroup").Where(h => File.Exists(Path.Combine(h, "cgroup.procs")) && !h.EndsWith("/cpuset", StringComparison.Ordinal)).ToList();
        foreach (var hierarchy in hierarchies)
        {
            Directory.CreateDirectory(Path.Combine(hierarchy, cgroup, "kubepods", "pod1"));
        }

        // A container is found by its cgroup, a shim by the node's directory in its command line.
        var container = Spawn("sleep", "300");
        await File.WriteAllTextAsync(Path.Combine(hierarchies[0], cgroup, "kubepods", "pod1", "cgroup.procs"), Str(container.Pid));
        var shim = Spawn("bash", "-c", $"exec -a 'containerd-shim -address {nodeDirectory}/containerd.sock' sleep 300");
        try
        {
            var report = ProcessRegistry.RunReaper("sweep", root);

            Assert.Contains($"removed bridge {bridge}", report, StringComparison.Ordinal);
            await Eventually.UntilAsync(() => Task.FromResult(!container.IsAlive && !shim.IsAlive), Patience, "the container and the shim to be gone");
            Assert.False(Directory.Exists($"/sys/class/net/{bridge}"));
            Assert.All(hierarchies, h => Assert.False(Directory.Exists(Path.Combine(h, cgroup)), $"{h}/{cgroup} is still there"));
            Assert.False(Directory.Exists(nodeDirectory));
        }
        finally
        {
            Kill(container);
            Kill(shim);
            await Command.TryRunAsync(Tools.Ip, ["link", "del", bridge]);
            foreach (var left in hierarchies.Select(h => Path.Combine(h, cgroup)).Where(Directory.Exists))
            {
                await Command.TryRunAsync("find", [left, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"]);
            }

            Directory.Delete(root, recursive: true);
        }
    }

    private static string ScratchRoot()
    {
        var root = ProcessRegistry.Current.CreateDirectory("reaper-scratch");
        return root;
    }

    private static ProcessIdentity Spawn(string file, params string[] arguments)
    {
        using var process = Process.Start(file, arguments);
        return ProcessIdentity.Of(process.Id) ?? throw new InvalidOperationException($"{file} exited at once");
    }

    private static async Task<ProcessIdentity> StartAndReapAsync(string file)
    {
        using var process = Process.Start(file);
        var identity = ProcessIdentity.Of(process.Id) ?? new ProcessIdentity(process.Id, 0);
        await process.WaitForExitAsync();
        return identity;
    }

    private static void Kill(ProcessIdentity identity)
    {
        if (identity.IsAlive)
        {
            using var process = Process.GetProcessById(identity.Pid);
            process.Kill();
            process.WaitForExit();
        }
    }

    private static string RunName(ProcessIdentity runner) => $"{Str(runner.Pid)}-{Str(runner.StartTicks)}";

    private static string PidLine(ProcessIdentity process, string name) =>
        $"{Str(process.Pid)} {Str(process.StartTicks)} {name}\n";

    private static string Str(long value) => value.ToString(CultureInfo.InvariantCulture);
}
