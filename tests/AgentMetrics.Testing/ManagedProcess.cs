using System.Diagnostics;

namespace AgentMetrics.Testing;

/// <summary>
/// A server process started for the tests: its output goes to a log file, it is recorded with
/// <see cref="ProcessRegistry"/> so nothing outlives the run, and disposing it stops it.
/// </summary>
public sealed class ManagedProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ManagedProcess(string name, Process process, ProcessIdentity identity, string logPath)
    {
        Name = name;
        _process = process;
        Identity = identity;
        LogPath = logPath;
    }

    /// <summary>A short name used in logs and error messages, such as "etcd".</summary>
    public string Name { get; }

    /// <summary>The pid and start time of the running process.</summary>
    public ProcessIdentity Identity { get; }

    /// <summary>Where the process's standard output and error are written.</summary>
    public string LogPath { get; }

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => !Identity.IsAlive;

    /// <summary>Starts <paramref name="fileName"/> with stdin from /dev/null and its output in <c>logPath</c>.</summary>
    public static ManagedProcess Start(
        string name,
        string fileName,
        IEnumerable<string> arguments,
        string logPath,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        var registry = ProcessRegistry.Current;
        var info = new ProcessStartInfo("bash")
        {
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(logPath)!,
        };
        // exec keeps the pid: the process we record is the server itself, not a shell around it.
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$@\" </dev/null >>\"$AGENT_METRICS_LOG\" 2>&1");
        info.ArgumentList.Add(name);
        info.ArgumentList.Add(fileName);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["AGENT_METRICS_LOG"] = logPath;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {name} ({fileName})");
        var identity = ProcessIdentity.Of(process.Id) ?? new ProcessIdentity(process.Id, -1);
        var managed = new ManagedProcess(name, process, identity, logPath);
        registry.Track(managed);
        return managed;
    }

    /// <summary>The last lines of the process's log, for error messages.</summary>
    public string LogTail(int lines = 30)
    {
        try
        {
            var all = File.ReadAllLines(LogPath);
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    /// <summary>Sends SIGTERM, waits up to <paramref name="grace"/>, then SIGKILL.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (HasExited)
        {
            return;
        }

        Posix.Signal(Identity.Pid, Posix.SigTerm);
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Posix.Signal(Identity.Pid, Posix.SigKill);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>Stops the process at once, without waiting; safe to call from a signal handler.</summary>
    internal void KillNow()
    {
        if (!HasExited)
        {
            Posix.Signal(Identity.Pid, Posix.SigKill);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5));
        ProcessRegistry.Current.Untrack(this);
        _process.Dispose();
    }
}
