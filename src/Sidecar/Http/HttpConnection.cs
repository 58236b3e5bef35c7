using System.Net.Sockets;

namespace AgentMetrics.Sidecar.Http;

/// <summary>
/// One client connection: reads requests one after another from a single pooled buffer, hands each to
/// its route, writes the answer, and keeps the connection while both sides want it. The bytes of a
/// head are parsed by <see cref="RequestHeadParser"/>, bodies framed by <see cref="RequestBody"/> and
/// answers written by <see cref="ResponseWriter"/>; this class holds the socket, the buffer and the clocks.
/// </summary>
internal sealed class HttpConnection : IDisposable, IBodySource, IResponseSink
{
    /// <summary>The size of a connection's buffer, at least: room for the largest head allowed, so a read into it always has space.</summary>
    internal const int BufferBytes = 16 * 1024;
    private static readonly TimeSpan LingerTime = TimeSpan.FromSeconds(2);
    private const long LingerBytes = 16 * 1024 * 1024;

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
    private RequestBody? _body;

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

    int IBodySource.MaxHeadBytes => Limits.MaxHeadBytes;

    private ResponseFraming Framing => new(_keepAlive, _http10);

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
            request = Begin(RequestHeadParser.Parse(_buffer.AsSpan(_start, headLength), Limits.MaxHeaders));
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
                await request.RespondAsync(status, "application/json; charset=utf-8", ResponseWriter.ErrorBody(error), allow);
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
                await request.RespondAsync(500, "application/json; charset=utf-8", ResponseWriter.ErrorBody("internal error; see the sidecar's log"));
            }

            return false;
        }

        return _keepAlive;
    }

    /// <summary>Answers a request that broke the protocol, then closes without cutting the answer off.</summary>
    private async Task RefuseAsync(HttpProtocolException e)
    {
        _keepAlive = false;
        var body = ResponseWriter.ErrorBody(e.Message);
        await ResponseWriter.WriteAsync(this, Framing, e.Status, "application/json; charset=utf-8", body, allow: null, head: false, retryAfterSeconds: null);
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

    /// <summary>Takes a parsed head as the current request: its connection options and its body.</summary>
    private HttpRequest Begin(RequestHead head)
    {
        _http10 = head.Http10;
        _keepAlive = head.KeepAlive;
        _continuePending = head.ExpectsContinue;
        _body = RequestBody.For(this, head.Headers);
        return new HttpRequest(this, head.Method, head.Path, head.Headers, _body, _io.Token);
    }

    internal async ValueTask WriteResponseAsync(HttpRequest request, int status, string? contentType, ReadOnlyMemory<byte> body, string? allow, int? retryAfterSeconds)
    {
        // A body left unread (a refusal before reading it) cannot be skipped safely: the connection
        // closes after the answer, and lingers so the peer still reads it.
        var leftover = _body is { Finished: false };
        if (leftover || _server.Stopping.IsCancellationRequested)
        {
            _keepAlive = false;
        }

        await ResponseWriter.WriteAsync(this, Framing, status, contentType, body, allow, head: request.Method == "HEAD", retryAfterSeconds);
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

        await ResponseWriter.WriteSegmentsAsync(this, Framing, status, contentType, segments, head: request.Method == "HEAD", contentEncoding);
        if (leftover)
        {
            await LingerAsync();
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

    /// <summary>Sends all of <paramref name="data"/>, each send within the I/O timeout.</summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> data)
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
            await SendAsync(ResponseWriter.Continue);
        }
    }

    /// <summary>Copies buffered bytes, or receives straight into <paramref name="into"/> when none are buffered.</summary>
    async ValueTask<int> IBodySource.ReadAsync(Memory<byte> into, CancellationToken cancellationToken)
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

    /// <summary>Buffers a CRLF-terminated line, consumes it and returns it without the CRLF.</summary>
    async ValueTask<ReadOnlyMemory<byte>> IBodySource.ReadLineAsync(int maxBytes, string what)
    {
        while (true)
        {
            var end = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
            if (end >= 0)
            {
                var line = _buffer.AsMemory(_start, end);
                _start += end + 2;
                return line;
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
}
