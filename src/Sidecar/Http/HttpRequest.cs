namespace AgentMetrics.Sidecar.Http;

/// <summary>
/// One request as the sidecar's endpoints see it: method, path, the few headers they act on, and the
/// body as a stream (Content-Length or chunked framing already undone). The answer is written with
/// <see cref="RespondAsync"/>, once.
/// </summary>
public sealed class HttpRequest
{
    private readonly HttpConnection _connection;

    internal HttpRequest(HttpConnection connection, string method, string path, RequestHeaders headers, Stream body, CancellationToken aborted)
    {
        _connection = connection;
        Method = method;
        Path = path;
        Headers = headers;
        Body = body;
        Aborted = aborted;
    }

    /// <summary>The method, as sent (GET, POST…).</summary>
    public string Method { get; }

    /// <summary>The path of the target, without its query.</summary>
    public string Path { get; }

    /// <summary>Content-Type, or null.</summary>
    public string? ContentType => Headers.ContentType;

    /// <summary>Content-Encoding, or null.</summary>
    public string? ContentEncoding => Headers.ContentEncoding;

    /// <summary>Accept, or null.</summary>
    public string? Accept => Headers.Accept;

    /// <summary>Accept-Encoding, or null.</summary>
    public string? AcceptEncoding => Headers.AcceptEncoding;

    /// <summary>The declared Content-Length; null for a chunked body.</summary>
    public long? ContentLength => Headers.Chunked ? null : Headers.ContentLength ?? 0;

    /// <summary>The request body, framing removed; reading it past a size cap is up to the endpoint.</summary>
    public Stream Body { get; }

    /// <summary>Cancelled when the connection fails or stalls past its timeout.</summary>
    public CancellationToken Aborted { get; }

    internal RequestHeaders Headers { get; }

    internal bool Responded { get; private set; }

    /// <summary>
    /// Writes a 2xx answer whose body is in <paramref name="segments"/>, sent one after another, in
    /// <paramref name="contentEncoding"/> (with Vary: Accept-Encoding) when it is given.
    /// </summary>
    public ValueTask RespondSegmentsAsync(int status, string contentType, IReadOnlyList<ReadOnlyMemory<byte>> segments, string? contentEncoding = null)
    {
        if (Responded)
        {
            throw new InvalidOperationException("the request was already answered");
        }

        Responded = true;
        return _connection.WriteResponseAsync(this, status, contentType, segments, contentEncoding);
    }

    /// <summary>Writes the answer: status, content type and the whole body, with Allow (405) or Retry-After (503) when given.</summary>
    public ValueTask RespondAsync(int status, string? contentType, ReadOnlyMemory<byte> body, string? allow = null, int? retryAfterSeconds = null)
    {
        if (Responded)
        {
            throw new InvalidOperationException("the request was already answered");
        }

        Responded = true;
        return _connection.WriteResponseAsync(this, status, contentType, body, allow, retryAfterSeconds);
    }
}

/// <summary>The request headers the server and the endpoints act on; the rest are read past.</summary>
internal sealed class RequestHeaders
{
    public string? ContentType { get; set; }

    public string? ContentEncoding { get; set; }

    public string? Accept { get; set; }

    public string? AcceptEncoding { get; set; }

    public long? ContentLength { get; set; }

    public bool Chunked { get; set; }

    public bool ExpectContinue { get; set; }

    public bool Close { get; set; }

    public bool KeepAlive { get; set; }
}

/// <summary>A request that breaks HTTP/1.1's rules; answered with <see cref="Status"/> and the connection closed.</summary>
internal sealed class HttpProtocolException(int status, string message) : IOException(message)
{
    public int Status { get; } = status;
}
