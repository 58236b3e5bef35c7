using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AgentMetrics.Sidecar.Http;

/// <summary>Where an answer's bytes go: the connection's socket, within its I/O timeout.</summary>
internal interface IResponseSink
{
    ValueTask SendAsync(ReadOnlyMemory<byte> data);
}

/// <summary>How the connection answers: whether it stays open after this answer, and whether the client spoke HTTP/1.0.</summary>
internal readonly record struct ResponseFraming(bool KeepAlive, bool Http10);

/// <summary>Writes HTTP/1.1 answers: status line, the few headers the sidecar sends, and the body.</summary>
internal static class ResponseWriter
{
    /// <summary>Bodies up to this size go out in one send with their head.</summary>
    private const int CoalesceBytes = 4096;

    /// <summary>The answer <c>100 Continue</c>, sent before a body the client waits to send.</summary>
    public static readonly byte[] Continue = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();

    /// <summary>A JSON error body: <c>{"error": …}</c>.</summary>
    public static byte[] ErrorBody(string error) =>
        JsonSerializer.SerializeToUtf8Bytes(new ErrorResponse(error), SidecarJsonContext.Readable.ErrorResponse);

    /// <summary>Writes the head and, unless <paramref name="head"/> (a HEAD request), the whole body; a small body goes in the same send.</summary>
    public static async ValueTask WriteAsync(
        IResponseSink sink, ResponseFraming framing, int status, string? contentType, ReadOnlyMemory<byte> body, string? allow, bool head, int? retryAfterSeconds)
    {
        var headText = Head(framing, status, contentType, body.Length, allow, retryAfterSeconds);
        var headBytes = Encoding.Latin1.GetByteCount(headText);
        var small = head || body.Length <= CoalesceBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(headBytes + (small && !head ? body.Length : 0));
        try
        {
            var written = Encoding.Latin1.GetBytes(headText, buffer);
            if (small && !head)
            {
                body.Span.CopyTo(buffer.AsSpan(written));
                written += body.Length;
            }

            await sink.SendAsync(buffer.AsMemory(0, written));
            if (!small)
            {
                await sink.SendAsync(body);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Writes the head, then (unless <paramref name="head"/>) the body's segments one after another; in
    /// <paramref name="contentEncoding"/>, with Vary: Accept-Encoding, when it is given.
    /// </summary>
    public static async ValueTask WriteSegmentsAsync(
        IResponseSink sink, ResponseFraming framing, int status, string contentType, IReadOnlyList<ReadOnlyMemory<byte>> segments, bool head, string? contentEncoding = null)
    {
        var length = 0L;
        foreach (var segment in segments)
        {
            length += segment.Length;
        }

        await sink.SendAsync(Encoding.Latin1.GetBytes(Head(framing, status, contentType, length, allow: null, retryAfterSeconds: null, contentEncoding)));
        if (!head)
        {
            foreach (var segment in segments)
            {
                await sink.SendAsync(segment);
            }
        }
    }

    /// <summary>The status line and headers, ending with the empty line.</summary>
    public static string Head(ResponseFraming framing, int status, string? contentType, long length, string? allow, int? retryAfterSeconds, string? contentEncoding = null)
    {
        var text = new StringBuilder(160)
            .Append("HTTP/1.1 ").Append(status).Append(' ').Append(Reason(status)).Append("\r\n")
            .Append("Date: ").Append(HttpDate.Now).Append("\r\n")
            .Append("Content-Length: ").Append(length).Append("\r\n");
        if (contentType is not null)
        {
            text.Append("Content-Type: ").Append(contentType).Append("\r\n");
        }

        if (contentEncoding is not null)
        {
            text.Append("Content-Encoding: ").Append(contentEncoding).Append("\r\nVary: Accept-Encoding\r\n");
        }

        if (allow is not null)
        {
            text.Append("Allow: ").Append(allow).Append("\r\n");
        }

        if (retryAfterSeconds is { } retryAfter)
        {
            text.Append("Retry-After: ").Append(retryAfter).Append("\r\n");
        }

        return text.Append(!framing.KeepAlive ? "Connection: close\r\n" : framing.Http10 ? "Connection: keep-alive\r\n" : "").Append("\r\n").ToString();
    }

    private static string Reason(int status) => status switch
    {
        100 => "Continue",
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    };
}

/// <summary>The Date header's value, formatted once a second.</summary>
internal static class HttpDate
{
    private static Stamp s_current = new(0, "");

    public static string Now
    {
        get
        {
            var now = DateTimeOffset.UtcNow;
            var second = now.ToUnixTimeSeconds();
            var current = Volatile.Read(ref s_current);
            if (current.Second != second)
            {
                current = new Stamp(second, now.ToString("r", CultureInfo.InvariantCulture));
                Volatile.Write(ref s_current, current);
            }

            return current.Text;
        }
    }

    private sealed record Stamp(long Second, string Text);
}
