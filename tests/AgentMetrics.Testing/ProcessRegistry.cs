using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace AgentMetrics.Testing;

/// <summary>
/// Owns every process the tests start. Each run records its processes in a run directory; a
/// detached watcher (hack/reap.sh) stops them if the runner dies without cleaning up, even by
/// SIGKILL, and the next run sweeps whatever an earlier run still left and reports it.
/// </summary>
public sealed class ProcessRegistry
{
    private static readonly Lazy<ProcessRegistry> LazyCurrent = new(Create);

    private readonly Lock _lock = new();
    private readonly List<ManagedProcess> _live = [];
    private readonly List<string> _nodes = [];
    private readonly List<PosixSignalRegistration> _signalHandlers = [];
    private Process? _watcher;
    private bool _stopped;

    private ProcessRegistry(string runDirectory)
    {
        RunDirectory = runDirectory;
    }

    /// <summary>The registry of this test process, created on first use.</summary>
    public static ProcessRegistry Current => LazyCurrent.Value;

    /// <summary>
    /// Where every run keeps its run directory: on tmpfs when there is one, because etcd and the
    /// TSDBs fsync on every write and the data lives only as long as the run.
    /// </summary>
    public static string RootDirectory =>
        Environment.GetEnvironmentVariable("AGENT_METRICS_TEST_ROOT") is { Length: > 0 } root
            ? root
            : Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "agent-metrics-test");

    /// <summary>This run's directory: the pid list, and a place for servers' data and logs.</summary>
    public string RunDirectory { get; }

    /// <summary>Runs hack/reap.sh with the given arguments and returns what it printed.</summary>
    public static string RunReaper(params string[] arguments)
    {
        var info = new ProcessStartInfo("bash") { UseShellExecute = false, RedirectStandardOutput = true };
        info.ArgumentList.Add(RepoPaths.Combine("hack", "reap.sh"));
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not run hack/reap.sh");
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output;
    }

    /// <summary>A fresh directory inside this run's directory.</summary>
    public string CreateDirectory(string prefix)
    {
        var path = Path.Combine(RunDirectory, $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)]);
        Directory.CreateDirectory(path);
        return path;
    }

    internal void Track(ManagedProcess process)
    {
        lock (_lock)
        {
            if (_stopped)
            {
                // The runner was interrupted while a test kept going: nothing new may outlive it.
                process.KillNow();
                throw new InvalidOperationException($"the test run is stopping; {process.Name} was not kept");
            }

            _live.Add(process);
            File.AppendAllText(
                Path.Combine(RunDirectory, "pids"),
                string.Create(CultureInfo.InvariantCulture, $"{process.Identity.Pid} {process.Identity.StartTicks} {process.Name}\n"));
        }
    }

    /// <summary>
    /// Records a <see cref="LocalNode"/>'s directory: what the node made outside its processes
    /// (containers, network devices, cgroups) is removed with hack/reap.sh node when the run stops.
    /// </summary>
    internal void TrackNode(string directory)
    {
        lock (_lock)
        {
            _nodes.Add(directory);
        }
    }

    internal void UntrackNode(string directory)
    {
        lock (_lock)
        {
            _nodes.Remove(directory);
        }
    }

    internal void Untrack(ManagedProcess process)
    {
        lock (_lock)
        {
            _live.Remove(process);
        }
    }

    /// <summary>
    /// Kills every process still running, then the watcher; idempotent. It runs as the test host
    /// exits, when the test platform may kill the host moments later, so there is no graceful
    /// wait: the servers' data is thrown away with the run directory anyway.
    /// </summary>
    public void StopAll()
    {
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            foreach (var process in _live)
            {
                process.KillNow();
            }

            // Containers are no process of ours: the node's own cleanup finds and kills them.
            foreach (var node in _nodes)
            {
                RunReaper("node", node);
            }

            if (_watcher is { HasExited: false })
            {
                Posix.Signal(_watcher.Id, Posix.SigKill);
            }

            try
            {
                Directory.Delete(RunDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A server that was just killed may still hold a file; the next sweep removes it.
            }
        }
    }

    private static ProcessRegistry Create()
    {
        var root = RootDirectory;
        Directory.CreateDirectory(root);
        var report = RunReaper("sweep", root);
        if (report.Length > 0)
        {
            Console.Error.Write(report);
        }

        var self = ProcessIdentity.Of(Environment.ProcessId)
            ?? throw new InvalidOperationException("cannot read /proc/self/stat");
        var runDirectory = Path.Combine(root, string.Create(CultureInfo.InvariantCulture, $"{self.Pid}-{self.StartTicks}"));
        Directory.CreateDirectory(runDirectory);

        var registry = new ProcessRegistry(runDirectory);
        registry.StartWatcher(self);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => registry.StopAll();
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP })
        {
            registry._signalHandlers.Add(PosixSignalRegistration.Create(signal, _ => registry.StopAll()));
        }

        return registry;
    }

    private void StartWatcher(ProcessIdentity self)
    {
        // setsid puts the watcher in its own session, so a Ctrl-C aimed at the runner's process group
        // does not take the watcher down with it; its stdio is detached from the runner's pipes.
        var info = new ProcessStartInfo("bash") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec setsid bash \"$0\" watch \"$1\" \"$2\" \"$3\" </dev/null >/dev/null 2>&1");
        info.ArgumentList.Add(RepoPaths.Combine("hack", "reap.sh"));
        info.ArgumentList.Add(self.Pid.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add(self.StartTicks.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add(RunDirectory);
        _watcher = Process.Start(info) ?? throw new InvalidOperationException("could not start hack/reap.sh watch");
    }
}
