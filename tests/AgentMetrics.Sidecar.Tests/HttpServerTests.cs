using System.Net;
using System.Net.Sockets;
using System.Text;
using AgentMetrics.Sidecar.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace AgentMetrics.Sidecar.Tests;

/// <summary>
/// The sidecar's HTTP/1.1 server, spoken to over a raw socket so every byte on the wire is the test's
/// own: framing, the rules it refuses to bend, timeouts and the graceful stop.
/// </summary>
public sealed class HttpServerTests : IAsyncLifetime
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private HttpServer _server = null!;

    public Task InitializeAsync()
    {
        _server = Start(new HttpServerLimits { HeadTimeout = TimeSpan.FromMilliseconds(500), MaxHeadBytes = 4096 });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Pipelined_requests_are_answered_in_order_on_one_connection()
    {
        var answer = await ExchangeAsync(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst" +
            "GET /hello?x=1 HTTP/1.1\r\nHost: x\r\n\r\n" +
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecond");

        var responses = Split(answer);
        Assert.Equal(3, responses.Count);
        Assert.Equal(("200", "first"), (responses[0].Status, responses[0].Body));
        Assert.Equal(("200", "hi"), (responses[1].Status, responses[1].Body));
        Assert.Equal(("200", "second"), (responses[2].Status, responses[2].Body));
        Assert.Contains("Connection: close", responses[2].Head, StringComparison.Ordinal);
        Assert.DoesNotContain("Connection: close", responses[0].Head, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_chunked_body_arrives_whole_with_extensions_and_trailers_read_past()
    {
        var answer = await ExchangeAsync(
            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
            "5;name=value\r\nhello\r\n1\r\n \r\nA\r\nchunked!!!\r\n0\r\nTrailer: yes\r\n\r\n");

        var response = Assert.Single(Split(answer));
        Assert.Equal(("200", "hello chunked!!!"), (response.Status, response.Body));
    }

    [Theory]
    [InlineData("5\r\nhel", "ended")]
    [InlineData("zz\r\nhello\r\n0\r\n\r\n", "400")]
    [InlineData("5\r\nhelloXX0\r\n\r\n", "400")]
    [InlineData("1000000000000000\r\n", "400")]
    public async Task A_broken_chunked_body_is_refused_or_dropped_never_accepted(string chunks, string expected)
    {
        var answer = await ExchangeAsync("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks, halfClose: true);

        if (expected == "ended")
        {
            Assert.Empty(answer);
        }
        else
        {
            var response = Assert.Single(Split(answer));
            Assert.Equal(expected, response.Status);
            Assert.Contains("\"error\":", response.Body, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "400", "both Transfer-Encoding and Content-Length")]
    [InlineData("Content-Length: 5\r\nContent-Length: 6\r\n", "400", "Content-Length is given twice")]
    [InlineData("Content-Length: -5\r\n", "400", "Content-Length must be a decimal number")]
    [InlineData("Content-Length: 5 5\r\n", "400", "Content-Length must be a decimal number")]
    [InlineData("Transfer-Encoding: gzip, chunked\r\n", "501", "the only Transfer-Encoding served is chunked")]
    [InlineData("Expect: something-else\r\n", "417", "the only expectation served is 100-continue")]
    [InlineData("X-Folded: a\r\n  b\r\n", "400", "obs-fold")]
    [InlineData("Bad Name: x\r\n", "400", "a header name must be a token")]
    [InlineData("NoColon\r\n", "400", "a header field must be name: value")]
    public async Task Headers_that_break_the_rules_get_a_json_error_naming_the_rule_and_the_connection_closes(string headers, string status, string rule)
    {
        var answer = await ExchangeAsync("POST /echo HTTP/1.1\r\nHost: x\r\n" + headers + "\r\nhello");

        var response = Assert.Single(Split(answer));
        Assert.Equal(status, response.Status);
        Assert.Contains(rule, response.Body, StringComparison.Ordinal);
        Assert.Contains("Connection: close", response.Head, StringComparison.Ordinal);
        Assert.Contains("Content-Type: application/json", response.Head, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET /hello HTTP/2.0\r\n\r\n", "505")]
    [InlineData("GET /hello\r\n\r\n", "400")]
    [InlineData("GET  HTTP/1.1\r\n\r\n", "400")]
    [InlineData("G(T /hello HTTP/1.1\r\n\r\n", "400")]
    [InlineData("GET /he\u0001llo HTTP/1.1\r\n\r\n", "400")]
    [InlineData("GET /nothing-here HTTP/1.1\r\nConnection: close\r\n\r\n", "404")]
    [InlineData("PUT /echo HTTP/1.1\r\nConnection: close\r\n\r\n", "405")]
    public async Task Bad_request_lines_and_unknown_targets_are_answered_with_4xx_or_505(string request, string status)
    {
        var response = Assert.Single(Split(await ExchangeAsync(request)));

        Assert.Equal(status, response.Status);
        if (status == "405")
        {
            Assert.Contains("Allow: POST", response.Head, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_head_past_the_limit_gets_431()
    {
        var response = Assert.Single(Split(await ExchangeAsync($"GET /hello HTTP/1.1\r\nX-Big: {new string('a', 5000)}\r\n\r\n")));

        Assert.Equal("431", response.Status);
    }

    [Fact]
    public async Task Expect_100_continue_gets_100_only_when_the_body_is_read()
    {
        using var client = await ConnectAsync();
        await SendAsync(client, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
        var interim = await ReadSomeAsync(client);
        Assert.StartsWith("HTTP/1.1 100 Continue\r\n\r\n", interim, StringComparison.Ordinal);

        await SendAsync(client, "ping");
        var response = Assert.Single(Split(interim["HTTP/1.1 100 Continue\r\n\r\n".Length..] + await ReadSomeAsync(client)));
        Assert.Equal(("200", "ping"), (response.Status, response.Body));

        // Refused before its body is read: no 100, the final answer, and the connection closes.
        await SendAsync(client, "POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n");
        var refusal = Assert.Single(Split(await ReadToEndAsync(client)));
        Assert.Equal("413", refusal.Status);
        Assert.Contains("Connection: close", refusal.Head, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refusal_before_the_body_is_read_still_reaches_a_client_that_sends_the_body_anyway()
    {
        var body = new string('x', 256 * 1024);
        var response = Assert.Single(Split(await ExchangeAsync($"POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: {body.Length}\r\n\r\n{body}")));

        Assert.Equal("413", response.Status);
    }

    [Fact]
    public async Task Head_answers_with_the_length_of_get_and_no_body()
    {
        using var client = await ConnectAsync();
        await SendAsync(client, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");

        var text = await ReadToEndAsync(client);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", text, StringComparison.Ordinal);
        var second = text.IndexOf("HTTP/1.1 200 OK", 10, StringComparison.Ordinal);
        Assert.True(second > 0, text);
        Assert.Contains("Content-Length: 2\r\n", text[..second], StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n", text[..second], StringComparison.Ordinal);
        Assert.EndsWith("hi", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http_1_0_closes_unless_asked_to_keep_alive()
    {
        var closed = Assert.Single(Split(await ExchangeAsync("GET /hello HTTP/1.0\r\n\r\n")));
        Assert.Contains("Connection: close", closed.Head, StringComparison.Ordinal);

        using var client = await ConnectAsync();
        await SendAsync(client, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        var kept = Assert.Single(Split(await ReadSomeAsync(client)));
        Assert.Contains("Connection: keep-alive", kept.Head, StringComparison.Ordinal);
        await SendAsync(client, "GET /hello HTTP/1.0\r\n\r\n");
        Assert.Equal("hi", Assert.Single(Split(await ReadToEndAsync(client))).Body);
    }

    [Fact]
    public async Task A_head_that_trickles_in_past_its_timeout_is_dropped()
    {
        using var client = await ConnectAsync();
        await SendAsync(client, "GET /hello HTTP/1.1\r\n");
        await Task.Delay(TimeSpan.FromSeconds(1));

        Assert.Equal("", await ReadToEndAsync(client));
    }

    [Fact]
    public void A_second_server_on_a_port_already_served_fails_instead_of_sharing_its_connections()
    {
        var error = Assert.Throws<SocketException>(() => new HttpServer(_server.Endpoint, [], NullLogger.Instance));

        Assert.Equal(SocketError.AddressAlreadyInUse, error.SocketErrorCode);
    }

    [Fact]
    public async Task A_handler_that_throws_gets_500_and_the_server_keeps_serving()
    {
        var response = Assert.Single(Split(await ExchangeAsync("GET /throw HTTP/1.1\r\n\r\n")));
        Assert.Equal("500", response.Status);
        Assert.DoesNotContain("boom", response.Body, StringComparison.Ordinal);

        Assert.Equal("hi", Assert.Single(Split(await ExchangeAsync("GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"))).Body);
    }

    [Fact]
    public async Task Stopping_finishes_the_request_in_flight_closes_idle_connections_and_refuses_new_ones()
    {
        using var idle = await ConnectAsync();
        await SendAsync(idle, "GET /hello HTTP/1.1\r\n\r\n");
        Assert.Equal("hi", Assert.Single(Split(await ReadSomeAsync(idle))).Body);

        using var busy = await ConnectAsync();
        await SendAsync(busy, "GET /slow HTTP/1.1\r\n\r\n");
        await _entered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var stopping = _server.StopAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("", await ReadToEndAsync(idle));
        _release.SetResult();
        var last = Assert.Single(Split(await ReadToEndAsync(busy)));
        Assert.Equal(("200", "slow"), (last.Status, last.Body));
        Assert.Contains("Connection: close", last.Head, StringComparison.Ordinal);
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));

        using var late = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await Assert.ThrowsAsync<SocketException>(async () => await late.ConnectAsync(_server.Endpoint));
    }

    [Fact]
    public async Task Random_damage_to_valid_requests_never_gets_a_5xx_and_never_stops_the_server()
    {
        string[] valid =
        [
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "GET /hello HTTP/1.1\r\nHost: x\r\nAccept: text/plain\r\n\r\n",
        ];
        var random = new Random(20261122);
        var statuses = new HashSet<string>();
        for (var i = 0; i < 300; i++)
        {
            var bytes = Encoding.ASCII.GetBytes(valid[i % valid.Length]).ToList();
            for (var edits = random.Next(1, 4); edits > 0 && bytes.Count > 0; edits--)
            {
                var at = random.Next(bytes.Count);
                switch (random.Next(4))
                {
                    case 0:
                        bytes[at] = (byte)random.Next(256);
                        break;
                    case 1:
                        bytes.RemoveAt(at);
                        break;
                    case 2:
                        bytes.Insert(at, (byte)random.Next(256));
                        break;
                    default:
                        bytes.RemoveRange(at, bytes.Count - at);
                        break;
                }
            }

            var answer = await ExchangeAsync([.. bytes], halfClose: true);
            foreach (var response in Split(answer))
            {
                statuses.Add(response.Status);
                Assert.False(response.Status.StartsWith('5') && response.Status is not ("501" or "505"), $"{response.Status} for {Encoding.ASCII.GetString([.. bytes])}");
            }
        }

        Assert.Contains("400", statuses);
        Assert.Equal("hi", Assert.Single(Split(await ExchangeAsync("GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"))).Body);
    }

    private HttpServer Start(HttpServerLimits limits)
    {
        var server = new HttpServer(new IPEndPoint(IPAddress.Loopback, 0),
        [
            new Route("POST", "/echo", async request =>
            {
                using var copy = new MemoryStream();
                await request.Body.CopyToAsync(copy, request.Aborted);
                await request.RespondAsync(200, "text/plain", copy.ToArray());
            }),
            new Route("POST", "/refuse", request => request.RespondAsync(413, "application/json", "{\"error\":\"too large\"}"u8.ToArray())),
            new Route("GET", "/hello", request => request.RespondAsync(200, "text/plain", "hi"u8.ToArray())),
            new Route("GET", "/throw", _ => throw new InvalidOperationException("boom")),
            new Route("GET", "/slow", async request =>
            {
                _entered.TrySetResult();
                await _release.Task;
                await request.RespondAsync(200, "text/plain", "slow"u8.ToArray());
            }),
        ], NullLogger.Instance, limits);
        server.Start();
        return server;
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(_server.Endpoint);
        return socket;
    }

    private static async Task SendAsync(Socket socket, string text) => await socket.SendAsync(Encoding.Latin1.GetBytes(text));

    private Task<string> ExchangeAsync(string request, bool halfClose = false) => ExchangeAsync(Encoding.Latin1.GetBytes(request), halfClose);

    /// <summary>Sends the bytes, optionally half-closes, and reads until the server closes.</summary>
    private async Task<string> ExchangeAsync(byte[] request, bool halfClose)
    {
        using var client = await ConnectAsync();
        await client.SendAsync(request);
        if (halfClose)
        {
            client.Shutdown(SocketShutdown.Send);
        }

        return await ReadToEndAsync(client);
    }

    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        var text = new StringBuilder();
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                text.Append(Encoding.Latin1.GetString(buffer, 0, read));
            }
        }
        catch (SocketException)
        {
            // A reset after the answer counts as the end.
        }

        return text.ToString();
    }

    /// <summary>Reads what arrives within a moment: for one answer on a connection that stays open.</summary>
    private static async Task<string> ReadSomeAsync(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        var read = await socket.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10));
        var text = Encoding.Latin1.GetString(buffer, 0, read);
        while (socket.Available > 0 || await Task.Delay(100).ContinueWith(_ => socket.Available > 0))
        {
            read = await socket.ReceiveAsync(buffer, SocketFlags.None);
            text += Encoding.Latin1.GetString(buffer, 0, read);
        }

        return text;
    }

    /// <summary>Splits concatenated answers by their Content-Length.</summary>
    private static List<(string Status, string Head, string Body)> Split(string text)
    {
        var responses = new List<(string, string, string)>();
        while (text.Length > 0)
        {
            var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            Assert.True(headEnd > 0, $"not an HTTP answer: {text}");
            var head = text[..headEnd];
            var status = head.Split(' ')[1];
            var lengthLine = head.Split("\r\n").Single(l => l.StartsWith("Content-Length: ", StringComparison.Ordinal));
            var length = int.Parse(lengthLine["Content-Length: ".Length..], System.Globalization.CultureInfo.InvariantCulture);
            responses.Add((status, head, text.Substring(headEnd + 4, length)));
            text = text[(headEnd + 4 + length)..];
        }

        return responses;
    }
}
