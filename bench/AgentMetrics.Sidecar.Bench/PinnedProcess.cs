using System.Globalization;
using AgentMetrics.Testing;

namespace AgentMetrics.Sidecar.Bench;

/// <summary>
/// A server under load, pinned to one core with taskset: the sidecar or a peer. Started through the
/// test harness's process registry, so it is stopped when disposed and also when the bench dies.
/// </summary>
internal sealed class PinnedProcess : IAsyncDisposable
{
    public const string ServerCore = "0";
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private PinnedProcess(ManagedProcess process) => Process = process;

    public ManagedProcess Process { get; }

    public int Pid => Process.Identity.Pid;

    /// <summary>The sidecar as published (AGENT_METRICS_SIDECAR, set by hack/bench-sidecar.sh), with the bench identity and extra arguments.</summary>
    public static Task<PinnedProcess> SidecarAsync(int ingestPort, int metricsPort, params string[] arguments) =>
        SidecarAsync(ingestPort, metricsPort, identity: true, arguments);

    /// <summary>
    /// The published sidecar; without <paramref name="identity"/> its series carry no namespace, pod, agent
    /// and agent_version labels, for comparing like with like against a peer holding the same set.
    /// </summary>
    public static Task<PinnedProcess> SidecarAsync(int ingestPort, int metricsPort, bool identity, params string[] arguments)
    {
        var (file, prefix) = SidecarProcess.Command();
        return StartAsync(
            "agent-metrics-sidecar",
            [file, .. prefix,
                $"--ingest-listen=http://127.0.0.1:{ingestPort}", $"--grpc-listen=http://127.0.0.1:{LoopbackPorts.Next()}", $"--metrics-listen=http://127.0.0.1:{metricsPort}", .. arguments],
            new Uri($"http://127.0.0.1:{metricsPort}/readyz"),
            new Dictionary<string, string>
            {
                ["AGENTMETRICS_NAMESPACE"] = identity ? "bench" : "",
                ["AGENTMETRICS_POD"] = identity ? "bench-0" : "",
                ["AGENTMETRICS_AGENT"] = identity ? "bench-agent" : "",
                ["AGENTMETRICS_AGENT_VERSION"] = identity ? "1.0.0" : "",
            });
    }

    /// <summary>Starts <paramref name="command"/> on the server core and waits until <paramref name="ready"/> answers 2xx.</summary>
    public static async Task<PinnedProcess> StartAsync(string name, string[] command, Uri ready, IReadOnlyDictionary<string, string>? environment = null)
    {
        var directory = ProcessRegistry.Current.CreateDirectory(name);
        var process = new PinnedProcess(ManagedProcess.Start(
            name, "taskset", ["-c", ServerCore, .. command], Path.Combine(directory, name + ".log"), environment));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (process.Process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited at start:\n{process.Process.LogTail()}");
            }

            try
            {
                using var response = await Http.GetAsync(ready);
                if (response.IsSuccessStatusCode)
                {
                    return process;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                await process.DisposeAsync();
                throw new TimeoutException($"{name} was not ready after 60 s:\n{process.Process.LogTail()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Resident memory now (VmRSS), in bytes.</summary>
    public long ResidentBytes() => Status(Pid, "VmRSS");

    /// <summary>Peak resident memory (VmHWM), in bytes.</summary>
    public long PeakResidentBytes() => Status(Pid, "VmHWM");

    /// <summary>VmRSS split into anonymous, file-backed and shared memory, in MiB, for reading where memory goes.</summary>
    public string ResidentParts() =>
        $"VmRSS {Status(Pid, "VmRSS") / 1048576.0:0.0} MiB = anon {Status(Pid, "RssAnon") / 1048576.0:0.0} + file {Status(Pid, "RssFile") / 1048576.0:0.0} + shmem {Status(Pid, "RssShmem") / 1048576.0:0.0}";

    /// <summary>User plus system CPU time so far, in seconds.</summary>
    public double CpuSeconds()
    {
        var stat = File.ReadAllText($"/proc/{Pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // utime and stime are fields 14 and 15 of /proc/PID/stat, in clock ticks (100 per second on Linux).
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>A size field of /proc/PID/status (VmRSS, VmHWM, ...), in bytes.</summary>
    public static long Status(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"{field} not in /proc/{pid}/status");
    }

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}
