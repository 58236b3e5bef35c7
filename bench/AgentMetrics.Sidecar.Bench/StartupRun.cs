using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using AgentMetrics.Testing;

namespace AgentMetrics.Sidecar.Bench;

/// <summary>How fast one build of the sidecar starts, and what it holds once idle.</summary>
internal sealed record Startup(string Build, int Runs, double P50Ms, double MaxMs, long IdleBytes, long IdleAnonBytes = 0, long IdleFileBytes = 0);

/// <summary>
/// Start → /readyz answering 200, over fresh processes pinned to the server core, and VmRSS 5 s after
/// ready: for the shipped build and for a baseline build of the same code (ReadyToRun), in one run.
/// </summary>
internal static class StartupRun
{
    private static readonly byte[] ReadyRequest = Encoding.ASCII.GetBytes("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");

    /// <summary>Starts <paramref name="runs"/> fresh processes; <paramref name="grpc"/> off starts them with OTLP/gRPC turned off.</summary>
    public static async Task<Startup> RunAsync(string build, (string File, string[] Prefix) command, int runs, bool grpc = true)
    {
        var times = new List<double>(runs);
        long idle = 0, anon = 0, file = 0;
        for (var run = 0; run < runs; run++)
        {
            var ingest = LoopbackPorts.Next();
            var metrics = LoopbackPorts.Next();
            var directory = ProcessRegistry.Current.CreateDirectory($"startup-{build}");
            var clock = Stopwatch.StartNew();
            await using var process = ManagedProcess.Start(
                $"startup-{build}", "taskset",
                ["-c", PinnedProcess.ServerCore, command.File, .. command.Prefix, $"--ingest-listen=http://127.0.0.1:{ingest}", grpc ? $"--grpc-listen=http://127.0.0.1:{LoopbackPorts.Next()}" : "--grpc-listen=", $"--metrics-listen=http://127.0.0.1:{metrics}"],
                Path.Combine(directory, "sidecar.log"));
            await WaitReadyAsync(process, metrics, TimeSpan.FromSeconds(30));
            times.Add(clock.Elapsed.TotalMilliseconds);
            if (run == 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(5));
                idle = PinnedProcess.Status(process.Identity.Pid, "VmRSS");
                anon = PinnedProcess.Status(process.Identity.Pid, "RssAnon");
                file = PinnedProcess.Status(process.Identity.Pid, "RssFile");
            }
        }

        times.Sort();
        var startup = new Startup(build, runs, times[(times.Count - 1) / 2], times[^1], idle, anon, file);
        Console.WriteLine($"start → /readyz, {build}: {startup}");
        return startup;
    }

    // Polls with a plain socket every millisecond: an HTTP client's own set-up would be most of what is measured.
    private static async Task WaitReadyAsync(ManagedProcess process, int port, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        var answer = new byte[12];
        while (deadline.Elapsed < timeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the sidecar exited at start:\n{process.LogTail()}");
            }

            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync("127.0.0.1", port);
                await socket.SendAsync(ReadyRequest);
                var read = 0;
                while (read < answer.Length && await socket.ReceiveAsync(answer.AsMemory(read)) is var n and > 0)
                {
                    read += n;
                }

                if (read == answer.Length && Encoding.ASCII.GetString(answer) == "HTTP/1.1 200")
                {
                    return;
                }
            }
            catch (SocketException)
            {
            }

            await Task.Delay(1);
        }

        throw new TimeoutException($"the sidecar was not ready after {timeout.TotalSeconds} s:\n{process.LogTail()}");
    }
}
