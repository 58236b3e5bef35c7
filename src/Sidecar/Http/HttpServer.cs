using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace AgentMetrics.Sidecar.Http;

/// <summary>An endpoint: a method and an exact path. A GET route also answers HEAD.</summary>
public sealed record Route(string Method, string Path, Func<HttpRequest, ValueTask> Handler);

/// <summary>Limits that keep a connection from holding the server's memory or time.</summary>
public sealed record HttpServerLimits
{
    /// <summary>Largest request line plus headers (431 past it).</summary>
    public int MaxHeadBytes { get; init; } = 16 * 1024;

    /// <summary>Most header fields in one request (431 past it).</summary>
    public int MaxHeaders { get; init; } = 100;

    /// <summary>Most connections open at once; past it a new one closes the connection that has waited longest for a request, or is closed itself when every one is busy.</summary>
    public int MaxConnections { get; init; } = 1024;

    /// <summary>
    /// Connections kept free for newcomers: once fewer are free, each new connection closes the one that
    /// has waited longest for a request, so a probe or a scrape finds room while idle or trickling
    /// clients hold the rest.
    /// </summary>
    public int ReservedConnections { get; init; } = 32;

    /// <summary>How long a kept-alive connection may wait for its next request.</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(130);

    /// <summary>How long the request line and headers may take to arrive, once the first byte has.</summary>
    public TimeSpan HeadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a read of the body or a write of the answer may wait for the peer.</summary>
    public TimeSpan IoTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a whole request, its line, headers and body, may take to arrive once its first byte has (408 past it).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// A small HTTP/1.1 server for the sidecar's few endpoints, on plain sockets: keep-alive and
/// pipelining, Content-Length and chunked bodies, <c>Expect: 100-continue</c>, strict parsing with a
/// JSON error for what breaks the rules, bounded heads and timeouts, and a graceful stop that lets
/// requests in flight finish. It exists because a full web framework costs the sidecar more resident
/// memory than everything else it does, and the sidecar runs beside every agent.
/// </summary>
public sealed class HttpServer : IAsyncDisposable
{
    private readonly Dictionary<string, Route[]> _routes;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<HttpConnection, byte> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _aborting = new();
    private readonly Socket _listener;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _accepting = Task.CompletedTask;
    private int _open;

    /// <summary>Binds <paramref name="endpoint"/> (port 0 picks a free one); serving starts with <see cref="Start"/>.</summary>
    public HttpServer(IPEndPoint endpoint, IEnumerable<Route> routes, ILogger logger, HttpServerLimits? limits = null)
    {
        _routes = routes.GroupBy(r => r.Path, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        _logger = logger;
        Limits = limits ?? new HttpServerLimits();
        ConnectionBuffers = new BufferPool(Math.Max(HttpConnection.BufferBytes, Limits.MaxHeadBytes + 4), retained: 32);
        _listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _listener.Bind(endpoint);
            _listener.Listen(512);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }

        Endpoint = (IPEndPoint)_listener.LocalEndPoint!;
    }

    /// <summary>The address served, with the port actually bound.</summary>
    public IPEndPoint Endpoint { get; }

    /// <summary>The limits in force.</summary>
    public HttpServerLimits Limits { get; }

    internal CancellationToken Stopping => _stopping.Token;

    internal CancellationToken Aborting => _aborting.Token;

    internal ILogger Logger => _logger;

    /// <summary>The connections' read buffers; a few are kept for the next connections, not one per connection ever opened.</summary>
    internal BufferPool ConnectionBuffers { get; }

    /// <summary>Starts accepting connections.</summary>
    public void Start() => _accepting = AcceptAsync();

    /// <summary>
    /// Stops accepting, closes idle connections, lets requests in flight finish and answer with
    /// <c>Connection: close</c> for up to <paramref name="grace"/>, then drops what is left.
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        _listener.Dispose();
        await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (Volatile.Read(ref _open) == 0)
        {
            _drained.TrySetResult();
        }

        foreach (var connection in _connections.Keys)
        {
            connection.CloseIfIdle();
        }

        await _drained.Task.WaitAsync(grace).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _aborting.Cancel();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync(TimeSpan.Zero);

    internal Route? Find(string path, string method, out string? allow)
    {
        allow = null;
        if (!_routes.TryGetValue(path, out var routes))
        {
            return null;
        }

        foreach (var route in routes)
        {
            if (route.Method == method || (method == "HEAD" && route.Method == "GET"))
            {
                return route;
            }
        }

        allow = string.Join(", ", routes.Select(r => r.Method == "GET" ? "GET, HEAD" : r.Method));
        return null;
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException
                || (e is SocketException && _stopping.IsCancellationRequested))
            {
                return;
            }
            catch (SocketException e)
            {
                // Out of descriptors, or the peer gave up while queued: the listener itself is fine.
                _logger.LogWarning("accepting a connection on {Endpoint} failed: {Error}", Endpoint, e.Message);
                await Task.Delay(50);
                continue;
            }

            var open = Volatile.Read(ref _open);
            if (open >= Limits.MaxConnections - Limits.ReservedConnections && !EvictLongestWaiting() && open >= Limits.MaxConnections)
            {
                socket.Dispose();
                continue;
            }

            HttpConnection connection;
            try
            {
                connection = new HttpConnection(this, socket);
            }
            catch (SocketException)
            {
                // Reset by the peer before it could be set up.
                socket.Dispose();
                continue;
            }

            Interlocked.Increment(ref _open);
            _connections[connection] = 0;
            _ = RunAsync(connection);
        }
    }

    /// <summary>Closes the connection that has waited longest for its next request (or for the rest of a head); false when every connection is busy.</summary>
    private bool EvictLongestWaiting()
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            HttpConnection? oldest = null;
            var since = long.MaxValue;
            foreach (var connection in _connections.Keys)
            {
                if (connection.Waiting && connection.WaitingSince < since)
                {
                    oldest = connection;
                    since = connection.WaitingSince;
                }
            }

            if (oldest is null)
            {
                return false;
            }

            // It may have started a request meanwhile; then look again.
            if (oldest.TryEvict())
            {
                return true;
            }
        }

        return false;
    }

    private async Task RunAsync(HttpConnection connection)
    {
        try
        {
            await Task.Yield();
            await connection.ServeAsync();
        }
        finally
        {
            connection.Dispose();
            _connections.TryRemove(connection, out _);
            if (Interlocked.Decrement(ref _open) == 0 && _stopping.IsCancellationRequested)
            {
                _drained.TrySetResult();
            }
        }
    }
}
