using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using AgentMetrics.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AgentMetrics.Sidecar.Tests;

/// <summary>
/// The sidecar as it ships, with a slowloris on one port: more idle connections than the port's cap
/// (1024), some trickling a request head or body a byte at a time. Probes and scrapes still get their
/// answers, the agent can still send, and the trickled request is cut off by the whole-request deadline.
/// </summary>
public sealed class SlowlorisTests(ITestOutputHelper output)
{
    private const int Idle = 1100;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly Dictionary<Socket, byte[]> _answers = [];

    [Fact]
    public async Task A_slowloris_on_the_metrics_port_leaves_metrics_and_probes_answering_and_a_trickled_head_is_cut_off()
    {
        await using var sidecar = await SidecarProcess.StartAsync("slowloris-metrics");
        var port = sidecar.MetricsPort;
        var idle = await OpenIdleAsync(port, Idle);
        // Opened after the idle ones, so it is not the first closed to make room: the deadline must cut it.
        using var trickled = await ConnectAsync(port);
        await trickled.SendAsync("GET /metrics HTTP/1.1\r\n"u8.ToArray());
        var trickling = TrickleAsync(trickled, "X-Slow: abcdefghijklmnopqrstuvwxyz"u8.ToArray());
        try
        {
            await AssertAnsweringAsync(sidecar, trickling);
            var cutAfter = await trickling;
            output.WriteLine($"{idle.Count} idle connections; the trickled head was cut off after {cutAfter.TotalSeconds:0.0} s");
            Assert.True(cutAfter < Deadline + TimeSpan.FromSeconds(10), $"the trickled head was still open after {cutAfter.TotalSeconds:0} s");
        }
        finally
        {
            idle.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task A_slowloris_on_the_ingest_port_leaves_events_metrics_and_probes_answering_and_a_trickled_body_gets_408()
    {
        await using var sidecar = await SidecarProcess.StartAsync("slowloris-ingest");
        var port = sidecar.IngestPort;
        using var trickled = await ConnectAsync(port);
        await trickled.SendAsync("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n"u8.ToArray());
        var trickling = TrickleAsync(trickled, Encoding.ASCII.GetBytes(new string(' ', 4096)));
        var idle = await OpenIdleAsync(port, Idle);
        try
        {
            await AssertAnsweringAsync(sidecar, trickling);
            var cutAfter = await trickling;
            var answer = Encoding.ASCII.GetString(_answers.GetValueOrDefault(trickled) ?? []);
            output.WriteLine($"{idle.Count} idle connections; the trickled body was cut off after {cutAfter.TotalSeconds:0.0} s with: {answer.Split("\r\n")[0]}");
            Assert.True(cutAfter < Deadline + TimeSpan.FromSeconds(10), $"the trickled body was still open after {cutAfter.TotalSeconds:0} s");
            Assert.StartsWith("HTTP/1.1 408 ", answer, StringComparison.Ordinal);
            Assert.Contains("\"error\":\"the request did not arrive whole within 30 s", answer, StringComparison.Ordinal);
        }
        finally
        {
            idle.ForEach(s => s.Dispose());
        }
    }

    /// <summary>The probes, /metrics and the events API answer on fresh connections, every 2 s, until the trickle ends (at least three times).</summary>
    private static async Task AssertAnsweringAsync(SidecarProcess sidecar, Task trickle)
    {
        var until = Stopwatch.StartNew();
        var tries = 0;
        while ((!trickle.IsCompleted || tries < 3) && until.Elapsed < Deadline * 2)
        {
            tries++;
            // A new client each time: a new connection, as a kubelet probe makes.
            using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(10) };
            foreach (var path in new[] { "/healthz", "/readyz", "/metrics" })
            {
                try
                {
                    using var response = await http.GetAsync(new Uri(sidecar.Metrics, path));
                    Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} answered {(int)response.StatusCode} on try {tries}");
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Assert.Fail($"{path} got no answer on try {tries}, {until.Elapsed.TotalSeconds:0.0} s into the attack: {e.Message}");
                }
            }

            try
            {
                using var response = await http.PostAsync(
                    new Uri(sidecar.Ingest, "/v1/events"), new StringContent("{\"type\":\"escalation\",\"reason\":\"policy\"}", Encoding.UTF8, "application/json"));
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST /v1/events answered {(int)response.StatusCode} on try {tries}");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Assert.Fail($"POST /v1/events got no answer on try {tries}: {e.Message}");
            }

            await Task.WhenAny(trickle, Task.Delay(2000));
        }
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        return socket;
    }

    /// <summary>Connections that connect and send nothing.</summary>
    private static async Task<List<Socket>> OpenIdleAsync(int port, int count)
    {
        var sockets = new List<Socket>(count);
        for (var i = 0; i < count; i++)
        {
            sockets.Add(await ConnectAsync(port));
        }

        return sockets;
    }

    /// <summary>Sends <paramref name="bytes"/> one every 2.5 s until the sidecar answers or closes; how long that took.</summary>
    private async Task<TimeSpan> TrickleAsync(Socket socket, byte[] bytes)
    {
        var took = Stopwatch.StartNew();
        var answer = new MemoryStream();
        var reading = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            try
            {
                int read;
                while ((read = await socket.ReceiveAsync(buffer)) > 0)
                {
                    answer.Write(buffer, 0, read);
                }
            }
            catch (SocketException)
            {
            }
        });
        foreach (var b in bytes)
        {
            if (reading.IsCompleted || took.Elapsed > Deadline * 2)
            {
                break;
            }

            try
            {
                await socket.SendAsync(new[] { b });
            }
            catch (SocketException)
            {
                break;
            }

            await Task.WhenAny(reading, Task.Delay(2500));
        }

        try
        {
            await reading.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // Still open after the trickle stopped: the caller sees it in the time taken.
        }
        lock (_answers)
        {
            _answers[socket] = answer.ToArray();
        }

        return took.Elapsed;
    }
}
