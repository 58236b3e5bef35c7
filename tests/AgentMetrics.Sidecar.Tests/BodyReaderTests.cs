using System.Net;
using System.Net.Sockets;
using System.Text;
using AgentMetrics.Sidecar.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace AgentMetrics.Sidecar.Tests;

/// <summary>The body reader behind the API, on the sidecar's own HTTP server: owned buffers, and a bound on large bodies at once.</summary>
public sealed class BodyReaderTests
{
    [Fact]
    public async Task A_large_body_past_the_slots_waits_then_gets_503_with_retry_after_and_a_json_error()
    {
        var reader = new BodyReader(1024 * 1024, largeBodies: 1, largeBodyWait: TimeSpan.FromMilliseconds(200));
        await using var server = Serve(reader);
        var large = BodyReader.SmallBytes * 2;

        // The first large body takes the only slot and stops halfway.
        using var holder = await ConnectAsync(server);
        await holder.SendAsync(Encoding.ASCII.GetBytes($"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: {large}\r\n\r\n" + new string('a', large / 2)));
        await Task.Delay(200);

        using var second = await ConnectAsync(server);
        await second.SendAsync(Encoding.ASCII.GetBytes($"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: {large}\r\n\r\n"));
        var answer = await ReadAnswerAsync(second);
        Assert.StartsWith("HTTP/1.1 503 ", answer, StringComparison.Ordinal);
        Assert.Contains("\r\nRetry-After: 1\r\n", answer, StringComparison.Ordinal);
        Assert.Contains("{\"error\":\"1 bodies larger than 65536 bytes are being read already", answer, StringComparison.Ordinal);

        // Once the first finishes, its slot and its array are free again, and the array is kept for the next.
        await holder.SendAsync(Encoding.ASCII.GetBytes(new string('a', large / 2)));
        Assert.StartsWith("HTTP/1.1 200 ", await ReadAnswerAsync(holder), StringComparison.Ordinal);
        // The handler gives the body back just after its answer is written.
        for (var i = 0; i < 50 && reader.Large.Free == 0; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(1, reader.Large.Free);
        using var third = await ConnectAsync(server);
        await third.SendAsync(Encoding.ASCII.GetBytes($"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: {large}\r\n\r\n" + new string('b', large)));
        Assert.Contains($"\r\n\r\n{large}", await ReadAnswerAsync(third), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Small_bodies_reuse_a_bounded_number_of_arrays()
    {
        var reader = new BodyReader(1024 * 1024);
        await using var server = Serve(reader);

        await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
        {
            using var client = await ConnectAsync(server);
            await client.SendAsync("POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"u8.ToArray());
            Assert.Contains("\r\n\r\n5", await ReadAnswerAsync(client), StringComparison.Ordinal);
        }));

        Assert.InRange(reader.Small.Free, 1, reader.Small.Retained);
    }

    private static HttpServer Serve(BodyReader reader)
    {
        var server = new HttpServer(new IPEndPoint(IPAddress.Loopback, 0),
        [
            new Route("POST", "/read", async request =>
            {
                var (body, problem) = await reader.ReadAsync(request);
                if (body is null)
                {
                    await request.RespondAsync(problem!.Status, "application/json", Encoding.UTF8.GetBytes($"{{\"error\":\"{problem.Message}\"}}"), retryAfterSeconds: problem.RetryAfterSeconds);
                    return;
                }

                using (body)
                {
                    await request.RespondAsync(200, "text/plain", Encoding.ASCII.GetBytes(body.Data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                }
            }),
        ], NullLogger.Instance);
        server.Start();
        return server;
    }

    private static async Task<Socket> ConnectAsync(HttpServer server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.Endpoint);
        return socket;
    }

    /// <summary>Reads one answer: its head, then as many body bytes as its Content-Length says.</summary>
    private static async Task<string> ReadAnswerAsync(Socket socket)
    {
        var text = new StringBuilder();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (read == 0)
            {
                return text.ToString();
            }

            text.Append(Encoding.Latin1.GetString(buffer, 0, read));
            var all = text.ToString();
            var headEnd = all.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (headEnd > 0)
            {
                var line = all[..headEnd].Split("\r\n").First(l => l.StartsWith("Content-Length: ", StringComparison.Ordinal));
                if (all.Length - headEnd - 4 >= int.Parse(line["Content-Length: ".Length..], System.Globalization.CultureInfo.InvariantCulture))
                {
                    return all;
                }
            }
        }
    }
}
