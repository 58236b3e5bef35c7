using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace AgentMetrics.Sidecar.Http;

/// <summary>
/// One client connection: reads requests one after another from a single pooled buffer, hands each to
/// its route, writes the answer, and keeps the connection while both sides want it.
/// </summary>
internal sealed class HttpConnection : IDisposable
{
    /// <summary>The size of a connection's buffer, at least: room for the largest head allowed, so a read into it always has space.</summary>
    internal const int BufferBytes = 16 * 1024;
    private static readonly TimeSpan LingerTime = TimeSpan.FromSeconds(2);
    private const long LingerBytes = 16 * 1024 * 1024;
    private static readonly byte[] Continue = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();

    private readonly HttpServer _server;
    private readonly Socket _socket;
    private CancellationTokenSource _io;
    private const int StateWaiting = 0;
    private const int StateBusy = 1;
    private const int StateClosed = 2;

    private byte[] _buffer = [];
    private int _start;
    private int _end;
    private int _state = StateWaiting;
    private long _waitingSince = Environment.TickCount64;
    private DateTime _requestDeadline = DateTime.MaxValue;
    private bool _http10;
    private bool _keepAlive;
    private bool _continuePending;
    private Body? _body;

    public HttpConnection(HttpServer server, Socket socket)
    {
        _server = server;
        _socket = socket;
        _socket.NoDelay = true;
        _io = CancellationTokenSource.CreateLinkedTokenSource(server.Aborting);
    }

    /// <summary>Whether the connection is between requests or still receiving a head: closing it loses no request the server took.</summary>
    public bool Waiting => Volatile.Read(ref _state) == StateWaiting;

    /// <summary>When it began to wait for its current request (<see cref="Environment.TickCount64"/>).</summary>
    public long WaitingSince => Volatile.Read(ref _waitingSince);

    private HttpServerLimits Limits => _server.Limits;

    /// <summary>Closes the connection when it is between requests (a graceful stop); one in flight finishes first.</summary>
    public void CloseIfIdle() => TryEvict();

    /// <summary>Closes the connection if it is <see cref="Waiting"/>; false when a request is being served.</summary>
    public bool TryEvict()
    {
        if (Interlocked.CompareExchange(ref _state, StateClosed, StateWaiting) != StateWaiting)
        {
            return false;
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        return true;
    }

    public void Dispose()
    {
        _socket.Dispose();
        _io.Dispose();
        var buffer = Interlocked.Exchange(ref _buffer, []);
        _server.ConnectionBuffers.Return(buffer);
    }

    public async Task ServeAsync()
    {
        try
        {
            while (await ServeOneAsync())
            {
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // The peer left, stalled past a timeout, or the server stopped: nothing to answer to.
        }
    }

    /// <summary>Reads, routes and answers one request; false when the connection should close.</summary>
    private async Task<bool> ServeOneAsync()
    {
        if (Interlocked.CompareExchange(ref _state, StateWaiting, StateBusy) == StateClosed)
        {
            return false;
        }

        Volatile.Write(ref _waitingSince, Environment.TickCount64);
        if (_server.Stopping.IsCancellationRequested && _start == _end)
        {
            return false;
        }

        if (_start == _end)
        {
            // Nothing buffered: a connection waiting for its next request holds no buffer.
            _server.ConnectionBuffers.Return(_buffer);
            _buffer = [];
            _start = _end = 0;
        }

        int headLength;
        try
        {
            headLength = await ReadHeadAsync();
        }
        catch (HttpProtocolException e)
        {
            await RefuseAsync(e);
            return false;
        }

        if (headLength == 0)
        {
            return false;
        }

        if (Interlocked.CompareExchange(ref _state, StateBusy, StateWaiting) != StateWaiting)
        {
            return false;
        }

        HttpRequest request;
        try
        {
            request = ParseHead(_buffer.AsSpan(_start, headLength));
        }
        catch (HttpProtocolException e)
        {
            await RefuseAsync(e);
            return false;
        }

        _start += headLength;
        var route = _server.Find(request.Path, request.Method, out var allow);
        try
        {
            if (route is null)
            {
                var (status, error) = allow is null
                    ? (404, $"no endpoint at {request.Path}")
                    : (405, $"{request.Path} takes {allow}, not {request.Method}");
                await request.RespondAsync(status, "application/json; charset=utf-8", ErrorBody(error), allow);
            }
            else
            {
                await route.Handler(request);
                if (!request.Responded)
                {
                    await request.RespondAsync(204, null, default);
                }
            }
        }
        catch (HttpProtocolException e) when (!request.Responded)
        {
            await RefuseAsync(e);
            return false;
        }
        catch (Exception e) when (e is not (OperationCanceledException or IOException or SocketException or ObjectDisposedException))
        {
            _server.Logger.LogError("{Method} {Path} failed: {Error}", request.Method, request.Path, e.ToString());
            if (!request.Responded)
            {
                _keepAlive = false;
                await request.RespondAsync(500, "application/json; charset=utf-8", ErrorBody("internal error; see the sidecar's log"));
            }

            return false;
        }

        return _keepAlive;
    }

    /// <summary>Answers a request that broke the protocol, then closes without cutting the answer off.</summary>
    private async Task RefuseAsync(HttpProtocolException e)
    {
        _keepAlive = false;
        var body = ErrorBody(e.Message);
        await SendHeadAndBodyAsync(e.Status, "application/json; charset=utf-8", body, allow: null, head: false);
        await LingerAsync();
    }

    /// <summary>Reads until the buffer holds a whole request head; its length, or 0 when the peer closed between requests.</summary>
    private async Task<int> ReadHeadAsync()
    {
        var deadline = DateTime.MaxValue;
        if (_buffer.Length == 0)
        {
            // A zero-byte read waits for the next request without a buffer to read it into.
            await ReceiveAsync(Memory<byte>.Empty, Limits.KeepAliveTimeout);
            _buffer = _server.ConnectionBuffers.Rent();
        }

        while (true)
        {
            // Empty lines before a request line are allowed and skipped.
            while (_end - _start >= 2 && _buffer[_start] == (byte)'\r' && _buffer[_start + 1] == (byte)'\n')
            {
                _start += 2;
            }

            var end = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
            if (end >= 0 && end + 4 <= Limits.MaxHeadBytes)
            {
                if (deadline == DateTime.MaxValue)
                {
                    // Pipelined: the whole head was already buffered, and the request starts now.
                    BeginRequest();
                }

                return end + 4;
            }

            if (end >= 0 || _end - _start >= Limits.MaxHeadBytes)
            {
                throw new HttpProtocolException(431, $"the request line and headers exceed {Limits.MaxHeadBytes} bytes");
            }

            Compact();
            var waiting = _start == _end;
            if (!waiting && deadline == DateTime.MaxValue)
            {
                deadline = BeginRequest();
            }

            var timeout = waiting ? Limits.KeepAliveTimeout : deadline - DateTime.UtcNow;
            var read = await ReceiveAsync(_buffer.AsMemory(_end), timeout);
            if (read == 0)
            {
                if (waiting)
                {
                    return 0;
                }

                throw new IOException("the peer closed the connection in the middle of a request head");
            }

            if (waiting)
            {
                deadline = BeginRequest();
            }

            _end += read;
        }
    }

    /// <summary>Starts the clocks of a request whose first byte has arrived; returns the deadline of its head.</summary>
    private DateTime BeginRequest()
    {
        var now = DateTime.UtcNow;
        _requestDeadline = now + Limits.RequestTimeout;
        return now + (Limits.HeadTimeout < Limits.RequestTimeout ? Limits.HeadTimeout : Limits.RequestTimeout);
    }

    private HttpRequest ParseHead(ReadOnlySpan<byte> head)
    {
        var lineEnd = head.IndexOf("\r\n"u8);
        var requestLine = head[..lineEnd];
        var firstSpace = requestLine.IndexOf((byte)' ');
        var lastSpace = requestLine.LastIndexOf((byte)' ');
        if (firstSpace <= 0 || lastSpace <= firstSpace + 1)
        {
            throw new HttpProtocolException(400, "the request line must be METHOD SP target SP HTTP-version");
        }

        var method = Method(requestLine[..firstSpace]);
        var target = requestLine[(firstSpace + 1)..lastSpace];
        var version = requestLine[(lastSpace + 1)..];
        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            _http10 = false;
        }
        else if (version.SequenceEqual("HTTP/1.0"u8))
        {
            _http10 = true;
        }
        else if (version.StartsWith("HTTP/"u8))
        {
            throw new HttpProtocolException(505, "only HTTP/1.1 and HTTP/1.0 are served");
        }
        else
        {
            throw new HttpProtocolException(400, "the request line must end with the HTTP version");
        }

        var path = Path(target);
        var headers = new RequestHeaders();
        var rest = head[(lineEnd + 2)..^2];
        var count = 0;
        while (rest.Length > 0)
        {
            var end = rest.IndexOf("\r\n"u8);
            var line = rest[..end];
            rest = rest[(end + 2)..];
            if (++count > Limits.MaxHeaders)
            {
                throw new HttpProtocolException(431, $"more than {Limits.MaxHeaders} header fields");
            }

            Header(line, headers);
        }

        if (headers.Chunked && headers.ContentLength is not null)
        {
            throw new HttpProtocolException(400, "a request must not have both Transfer-Encoding and Content-Length");
        }

        if (headers.Chunked && _http10)
        {
            throw new HttpProtocolException(400, "HTTP/1.0 has no chunked transfer coding");
        }

        _keepAlive = _http10 ? headers.KeepAlive && !headers.Close : !headers.Close;
        _continuePending = headers.ExpectContinue && !_http10;
        _body = headers.Chunked ? new ChunkedBody(this) : new LengthBody(this, headers.ContentLength ?? 0);
        return new HttpRequest(this, method, path, headers, _body, _io.Token);
    }

    private static string Method(ReadOnlySpan<byte> method)
    {
        if (method.SequenceEqual("GET"u8))
        {
            return "GET";
        }

        if (method.SequenceEqual("POST"u8))
        {
            return "POST";
        }

        if (method.SequenceEqual("HEAD"u8))
        {
            return "HEAD";
        }

        foreach (var b in method)
        {
            if (!IsTokenChar(b))
            {
                throw new HttpProtocolException(400, "the method must be a token");
            }
        }

        return Encoding.ASCII.GetString(method);
    }

    private static string Path(ReadOnlySpan<byte> target)
    {
        foreach (var b in target)
        {
            if (b <= 0x20 || b >= 0x7F)
            {
                throw new HttpProtocolException(400, "the request target must be visible ASCII without spaces");
            }
        }

        // absolute-form (http://host/path) names the same resource as its path.
        if (target.StartsWith("http://"u8) || target.StartsWith("https://"u8))
        {
            var afterScheme = target[(target.IndexOf("//"u8) + 2)..];
            var slash = afterScheme.IndexOfAny((byte)'/', (byte)'?');
            target = slash < 0 ? "/"u8 : afterScheme[slash] == (byte)'?' ? "/"u8 : afterScheme[slash..];
        }

        var query = target.IndexOfAny((byte)'?', (byte)'#');
        if (query >= 0)
        {
            target = target[..query];
        }

        return target.SequenceEqual("/metrics"u8) ? "/metrics" : Encoding.ASCII.GetString(target);
    }

    private static void Header(ReadOnlySpan<byte> line, RequestHeaders headers)
    {
        if (line.Length > 0 && (line[0] == (byte)' ' || line[0] == (byte)'\t'))
        {
            throw new HttpProtocolException(400, "folded header lines (obs-fold) are not accepted");
        }

        var colon = line.IndexOf((byte)':');
        if (colon <= 0)
        {
            throw new HttpProtocolException(400, "a header field must be name: value");
        }

        var name = line[..colon];
        foreach (var b in name)
        {
            if (!IsTokenChar(b))
            {
                throw new HttpProtocolException(400, "a header name must be a token, with no space before the colon");
            }
        }

        var value = line[(colon + 1)..].Trim(" \t"u8);
        foreach (var b in value)
        {
            if (b is 0 or (byte)'\r' or (byte)'\n')
            {
                throw new HttpProtocolException(400, $"the {Encoding.ASCII.GetString(name)} header holds a control character");
            }
        }

        if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
        {
            if (value.Length is 0 or > 18 || value.ContainsAnyExceptInRange((byte)'0', (byte)'9'))
            {
                throw new HttpProtocolException(400, "Content-Length must be a decimal number of bytes");
            }

            var length = long.Parse(value, CultureInfo.InvariantCulture);
            if (headers.ContentLength is { } earlier && earlier != length)
            {
                throw new HttpProtocolException(400, "Content-Length is given twice with different values");
            }

            headers.ContentLength = length;
        }
        else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
        {
            if (!Ascii.EqualsIgnoreCase(value, "chunked"u8) || headers.Chunked)
            {
                throw new HttpProtocolException(501, "the only Transfer-Encoding served is chunked");
            }

            headers.Chunked = true;
        }
        else if (Ascii.EqualsIgnoreCase(name, "Content-Type"u8))
        {
            headers.ContentType = Text(value);
        }
        else if (Ascii.EqualsIgnoreCase(name, "Content-Encoding"u8))
        {
            headers.ContentEncoding = Text(value);
        }
        else if (Ascii.EqualsIgnoreCase(name, "Accept"u8))
        {
            headers.Accept = headers.Accept is null ? Text(value) : headers.Accept + ", " + Text(value);
        }
        else if (Ascii.EqualsIgnoreCase(name, "Accept-Encoding"u8))
        {
            headers.AcceptEncoding = headers.AcceptEncoding is null ? Text(value) : headers.AcceptEncoding + ", " + Text(value);
        }
        else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
        {
            foreach (var range in value.Split((byte)','))
            {
                var option = value[range].Trim(" \t"u8);
                headers.Close |= Ascii.EqualsIgnoreCase(option, "close"u8);
                headers.KeepAlive |= Ascii.EqualsIgnoreCase(option, "keep-alive"u8);
            }
        }
        else if (Ascii.EqualsIgnoreCase(name, "Expect"u8))
        {
            if (!Ascii.EqualsIgnoreCase(value, "100-continue"u8))
            {
                throw new HttpProtocolException(417, "the only expectation served is 100-continue");
            }

            headers.ExpectContinue = true;
        }
    }

    private static string Text(ReadOnlySpan<byte> value) => Encoding.Latin1.GetString(value);

    private static bool IsTokenChar(byte b) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
            or (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+'
            or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';

    internal async ValueTask WriteResponseAsync(HttpRequest request, int status, string? contentType, ReadOnlyMemory<byte> body, string? allow, int? retryAfterSeconds)
    {
        // A body left unread (a refusal before reading it) cannot be skipped safely: the connection
        // closes after the answer, and lingers so the peer still reads it.
        var leftover = _body is { Finished: false };
        if (leftover || _server.Stopping.IsCancellationRequested)
        {
            _keepAlive = false;
        }

        await SendHeadAndBodyAsync(status, contentType, body, allow, head: request.Method == "HEAD", retryAfterSeconds);
        if (leftover)
        {
            await LingerAsync();
        }
    }

    internal async ValueTask WriteResponseAsync(HttpRequest request, int status, string contentType, IReadOnlyList<ReadOnlyMemory<byte>> segments, string? contentEncoding)
    {
        var leftover = _body is { Finished: false };
        if (leftover || _server.Stopping.IsCancellationRequested)
        {
            _keepAlive = false;
        }

        var length = 0L;
        foreach (var segment in segments)
        {
            length += segment.Length;
        }

        await SendAsync(Encoding.Latin1.GetBytes(HeadText(status, contentType, length, allow: null, retryAfterSeconds: null, contentEncoding)));
        if (request.Method != "HEAD")
        {
            foreach (var segment in segments)
            {
                await SendAsync(segment);
            }
        }

        if (leftover)
        {
            await LingerAsync();
        }
    }

    private string HeadText(int status, string? contentType, long length, string? allow, int? retryAfterSeconds, string? contentEncoding = null)
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

        return text.Append(!_keepAlive ? "Connection: close\r\n" : _http10 ? "Connection: keep-alive\r\n" : "").Append("\r\n").ToString();
    }

    private async ValueTask SendHeadAndBodyAsync(int status, string? contentType, ReadOnlyMemory<byte> body, string? allow, bool head, int? retryAfterSeconds = null)
    {
        var headText = HeadText(status, contentType, body.Length, allow, retryAfterSeconds);
        var headBytes = Encoding.Latin1.GetByteCount(headText);
        var small = head || body.Length <= 4096;
        var buffer = ArrayPool<byte>.Shared.Rent(headBytes + (small && !head ? body.Length : 0));
        try
        {
            var written = Encoding.Latin1.GetBytes(headText, buffer);
            if (small && !head)
            {
                body.Span.CopyTo(buffer.AsSpan(written));
                written += body.Length;
            }

            await SendAsync(buffer.AsMemory(0, written));
            if (!small)
            {
                await SendAsync(body);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Half-closes, then reads and drops what the peer still sends for a moment, so closing does not reset the answer away.</summary>
    private async Task LingerAsync()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
            if (_buffer.Length == 0)
            {
                _buffer = _server.ConnectionBuffers.Rent();
            }

            var until = DateTime.UtcNow + LingerTime;
            long dropped = 0;
            _start = _end = 0;
            while (dropped < LingerBytes && DateTime.UtcNow < until)
            {
                var read = await ReceiveAsync(_buffer, until - DateTime.UtcNow);
                if (read == 0)
                {
                    break;
                }

                dropped += read;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
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

    internal static byte[] ErrorBody(string error) =>
        JsonSerializer.SerializeToUtf8Bytes(new ErrorResponse(error), SidecarJsonContext.Readable.ErrorResponse);

    private void Compact()
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_start > 0 && _end == _buffer.Length)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
    }

    private async ValueTask<int> ReceiveAsync(Memory<byte> into, TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero)
        {
            throw new OperationCanceledException("timed out");
        }

        _io.CancelAfter(timeout);
        try
        {
            return await _socket.ReceiveAsync(into, SocketFlags.None, _io.Token);
        }
        finally
        {
            ResetTimer();
        }
    }

    private async ValueTask SendAsync(ReadOnlyMemory<byte> data)
    {
        while (data.Length > 0)
        {
            _io.CancelAfter(Limits.IoTimeout);
            try
            {
                var sent = await _socket.SendAsync(data, SocketFlags.None, _io.Token);
                data = data[sent..];
            }
            finally
            {
                ResetTimer();
            }
        }
    }

    /// <summary>Stops the I/O timer; after it fired, a new one, so the answer to a timed-out request (408) can still be sent.</summary>
    private void ResetTimer()
    {
        if (!_io.TryReset() && !_server.Aborting.IsCancellationRequested)
        {
            _io.Dispose();
            _io = CancellationTokenSource.CreateLinkedTokenSource(_server.Aborting);
        }
    }

    /// <summary>Sends <c>100 Continue</c> when the client waits for it, just before the body is first read.</summary>
    private async ValueTask ContinueAsync()
    {
        if (_continuePending)
        {
            _continuePending = false;
            await SendAsync(Continue);
        }
    }

    /// <summary>Copies buffered bytes, or receives straight into <paramref name="into"/> when none are buffered.</summary>
    private async ValueTask<int> ReadBodyBytesAsync(Memory<byte> into, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_start < _end)
        {
            // The client sent body bytes without waiting: it needs no 100 Continue any more.
            _continuePending = false;
            var n = Math.Min(into.Length, _end - _start);
            _buffer.AsSpan(_start, n).CopyTo(into.Span);
            _start += n;
            return n;
        }

        await ContinueAsync();
        var read = await ReceiveBodyAsync(into);
        if (read == 0)
        {
            throw new IOException("the peer closed the connection before the body ended");
        }

        return read;
    }

    /// <summary>Receives body bytes within both the I/O timeout and what is left of the request's deadline (408 past it).</summary>
    private async ValueTask<int> ReceiveBodyAsync(Memory<byte> into)
    {
        var left = _requestDeadline - DateTime.UtcNow;
        var deadlineFirst = left < Limits.IoTimeout;
        try
        {
            return await ReceiveAsync(into, deadlineFirst ? left : Limits.IoTimeout);
        }
        catch (OperationCanceledException) when (deadlineFirst && !_server.Aborting.IsCancellationRequested)
        {
            throw new HttpProtocolException(
                408, $"the request did not arrive whole within {Limits.RequestTimeout.TotalSeconds:0.###} s of its first byte");
        }
    }

    /// <summary>Makes sure a CRLF-terminated line is buffered and returns its length without the CRLF; the caller consumes it.</summary>
    private async ValueTask<int> BufferLineAsync(int maxBytes, string what)
    {
        while (true)
        {
            var end = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
            if (end >= 0)
            {
                return end;
            }

            if (_end - _start > maxBytes)
            {
                throw new HttpProtocolException(400, $"the {what} is longer than {maxBytes} bytes");
            }

            Compact();
            await ContinueAsync();
            var read = await ReceiveBodyAsync(_buffer.AsMemory(_end));
            if (read == 0)
            {
                throw new IOException("the peer closed the connection before the body ended");
            }

            _end += read;
        }
    }

    /// <summary>A request body as a read-only stream; it knows when its framing says it has ended.</summary>
    private abstract class Body : Stream
    {
        public abstract bool Finished { get; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private sealed class LengthBody(HttpConnection connection, long length) : Body
    {
        private long _remaining = length;

        public override bool Finished => _remaining == 0;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_remaining == 0 || buffer.Length == 0)
            {
                return 0;
            }

            var read = await connection.ReadBodyBytesAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken);
            _remaining -= read;
            return read;
        }
    }

    /// <summary>The chunked transfer coding: hex size line (extensions ignored), data, CRLF; a 0 chunk, then trailers.</summary>
    private sealed class ChunkedBody(HttpConnection connection) : Body
    {
        private const int MaxLine = 4096;
        private long _chunkLeft;
        private bool _needsCrLf;
        private bool _done;

        public override bool Finished => _done;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_done || buffer.Length == 0)
            {
                return 0;
            }

            if (_chunkLeft == 0)
            {
                if (_needsCrLf)
                {
                    var after = await connection.BufferLineAsync(MaxLine, "line after a chunk");
                    if (after != 0)
                    {
                        throw new HttpProtocolException(400, "chunk data must be followed by CRLF");
                    }

                    connection._start += 2;
                    _needsCrLf = false;
                }

                _chunkLeft = await ReadSizeAsync();
                if (_chunkLeft == 0)
                {
                    await SkipTrailersAsync();
                    _done = true;
                    return 0;
                }
            }

            var read = await connection.ReadBodyBytesAsync(buffer[..(int)Math.Min(buffer.Length, _chunkLeft)], cancellationToken);
            _chunkLeft -= read;
            _needsCrLf = _chunkLeft == 0;
            return read;
        }

        private async ValueTask<long> ReadSizeAsync()
        {
            var length = await connection.BufferLineAsync(MaxLine, "chunk size line");
            var line = connection._buffer.AsSpan(connection._start, length);
            var extension = line.IndexOf((byte)';');
            var digits = (extension >= 0 ? line[..extension] : line).Trim(" \t"u8);
            if (digits.Length is 0 or > 15 || !Utf8Parser.TryParse(digits, out long size, out var consumed, 'x') || consumed != digits.Length)
            {
                throw new HttpProtocolException(400, "a chunk size must be 1 to 15 hexadecimal digits");
            }

            connection._start += length + 2;
            return size;
        }

        private async ValueTask SkipTrailersAsync()
        {
            var total = 0;
            while (true)
            {
                var length = await connection.BufferLineAsync(MaxLine, "trailer line");
                connection._start += length + 2;
                if (length == 0)
                {
                    return;
                }

                total += length;
                if (total > connection.Limits.MaxHeadBytes)
                {
                    throw new HttpProtocolException(431, $"the trailers exceed {connection.Limits.MaxHeadBytes} bytes");
                }
            }
        }
    }
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
