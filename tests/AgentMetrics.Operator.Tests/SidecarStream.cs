using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Api.Streaming;
using AgentMetrics.Api.V1Alpha1;
using Xunit;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// The sidecar's end of a definitions stream, read line by line as a sidecar would. It checks
/// what holds for every stream: each line is one message, and no snapshot repeats the one before.
/// </summary>
internal sealed class SidecarStream : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SidecarStream(HttpResponseMessage response, StreamReader reader)
    {
        _response = response;
        _reader = reader;
    }

    /// <summary>Every snapshot read so far, oldest first.</summary>
    public List<DefinitionStreamMessage> Snapshots { get; } = [];

    /// <summary>The raw JSON line of the last snapshot read.</summary>
    public string LastSnapshotLine { get; private set; } = "";

    /// <summary>Sends the request a sidecar sends; the response is not read beyond its headers.</summary>
    public static Task<HttpResponseMessage> RequestAsync(HttpClient http, Uri server, string query, string? authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server, $"{DefinitionStream.Path}{query}"));
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>Opens the stream for a pod with its token; fails unless the operator answers 200 with NDJSON.</summary>
    public static async Task<SidecarStream> OpenAsync(HttpClient http, Uri server, string @namespace, string pod, string token)
    {
        var response = await RequestAsync(http, server, $"?namespace={@namespace}&pod={pod}", $"Bearer {token}");
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync();
            response.Dispose();
            Assert.Fail($"the stream for {@namespace}/{pod} was refused with {(int)response.StatusCode}: {body}");
        }

        Assert.Equal(new MediaTypeHeaderValue(DefinitionStream.MediaType), response.Content.Headers.ContentType);
        return new SidecarStream(response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    /// <summary>The names in a snapshot.</summary>
    public static List<string> Names(DefinitionStreamMessage snapshot) => [.. snapshot.Definitions!.Select(d => d.Metadata.Name!)];

    /// <summary>The next message, or null when the operator ended the stream.</summary>
    public async Task<DefinitionStreamMessage?> NextAsync(TimeSpan patience, string what)
    {
        using var timeout = new CancellationTokenSource(patience);
        string? line;
        try
        {
            line = await _reader.ReadLineAsync(timeout.Token);
        }
        catch (OperationCanceledException e)
        {
            throw new TimeoutException($"timed out waiting for {what}; the last snapshot was {LastSnapshotLine}", e);
        }

        if (line is null)
        {
            return null;
        }

        var message = JsonSerializer.Deserialize(line, ApiJsonContext.Default.DefinitionStreamMessage)!;
        if (message.Type == DefinitionStreamMessage.SnapshotType)
        {
            Assert.NotNull(message.Definitions);
            Assert.False(Snapshots.Count > 0 && line == LastSnapshotLine, $"a snapshot equal to the one before was sent: {line}");
            Snapshots.Add(message);
            LastSnapshotLine = line;
        }
        else
        {
            Assert.Equal("""{"type":"heartbeat"}""", line);
        }

        return message;
    }

    /// <summary>
    /// The latest snapshot once it satisfies <paramref name="condition"/>, reading on as long as it does
    /// not; heartbeats and intermediate snapshots are skipped.
    /// </summary>
    public async Task<DefinitionStreamMessage> UntilSnapshotAsync(Func<DefinitionStreamMessage, bool> condition, TimeSpan patience, string what) =>
        Snapshots.Count > 0 && condition(Snapshots[^1])
            ? Snapshots[^1]
            : await UntilAsync(m => m.Type == DefinitionStreamMessage.SnapshotType && condition(m), patience, what)
                ?? throw new InvalidOperationException($"the stream ended while waiting for {what}");

    /// <summary>Reads until a heartbeat arrives.</summary>
    public async Task UntilHeartbeatAsync(TimeSpan patience)
    {
        if (await UntilAsync(m => m.Type == DefinitionStreamMessage.HeartbeatType, patience, "a heartbeat") is null)
        {
            throw new InvalidOperationException("the stream ended while waiting for a heartbeat");
        }
    }

    /// <summary>Reads until the operator ends the stream.</summary>
    public async Task UntilEndAsync(TimeSpan patience) =>
        _ = await UntilAsync(_ => false, patience, "the end of the stream");

    /// <summary>The last snapshot line's definition <paramref name="name"/>, as raw JSON.</summary>
    public JsonObject RawDefinition(string name) =>
        JsonNode.Parse(LastSnapshotLine)!["definitions"]!.AsArray().Single(d => (string?)d!["metadata"]!["name"] == name)!.AsObject();

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>The first message satisfying <paramref name="condition"/>, or null when the stream ends first.</summary>
    private async Task<DefinitionStreamMessage?> UntilAsync(Func<DefinitionStreamMessage, bool> condition, TimeSpan patience, string what)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            var message = await NextAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, what);
            if (message is null || condition(message))
            {
                return message;
            }
        }
    }
}
