using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace AgentMetrics.Testing;

/// <summary>
/// The local node's cluster DNS, in the test process: a name server on the node's address, port 53,
/// that answers A queries for <c>SERVICE.NAMESPACE.svc.cluster.local</c> with the addresses of the
/// Service's ready endpoints, read from the API server at each query. A managed cluster's DNS answers
/// with the Service's cluster IP, which kube-proxy routes to those same endpoints; with no kube-proxy
/// here, the endpoints are answered directly, so a client sees a pod's address and must use the
/// pod's port (the Service's targetPort). Every other name is NXDOMAIN: pods here reach nothing
/// outside the node.
/// </summary>
public sealed class ServiceDns : IAsyncDisposable
{
    /// <summary>The cluster domain the kubelet gives pods in their search path.</summary>
    public const string ClusterDomain = "cluster.local";

    private const ushort TypeA = 1;
    private const ushort ClassInternet = 1;
    private const int NameError = 3;
    private const int ServerFailure = 2;
    private readonly Socket _socket;
    private readonly HttpClient _api;
    private readonly Uri _server;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;

    private ServiceDns(Socket socket, ControlPlane plane)
    {
        _socket = socket;
        _server = plane.ApiServer.Url;
        _api = new HttpClient(plane.Pki.CreateTrustingHandler()) { Timeout = TimeSpan.FromSeconds(2) };
        _api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", plane.AdminToken);
        _serving = Task.Run(ServeAsync);
    }

    /// <summary>Where pods send their queries.</summary>
    public IPEndPoint Endpoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>Starts answering on <paramref name="address"/>:53 for the Services of <paramref name="plane"/>.</summary>
    public static ServiceDns Start(string address, ControlPlane plane)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Parse(address), 53));
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new ServiceDns(socket, plane);
    }

    /// <summary>Stops answering and closes the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await _serving;
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _api.Dispose();
        _stop.Dispose();
    }

    /// <summary>
    /// The answer to one query, or null for a packet that is no query. Pure but for
    /// <paramref name="endpoints"/>, which gives a Service's ready IPv4 addresses (null: no such Service).
    /// </summary>
    public static async Task<byte[]?> AnswerAsync(byte[] query, Func<string, string, Task<IReadOnlyList<IPAddress>?>> endpoints)
    {
        if (query.Length < 12 || (query[2] & 0x80) != 0 || BinaryPrimitives.ReadUInt16BigEndian(query.AsSpan(4)) != 1)
        {
            return null;
        }

        var labels = new List<string>();
        var at = 12;
        while (at < query.Length && query[at] != 0)
        {
            var length = query[at];
            if (length > 63 || at + 1 + length > query.Length)
            {
                return null;
            }

            labels.Add(Encoding.ASCII.GetString(query, at + 1, length).ToLowerInvariant());
            at += 1 + length;
        }

        if (at + 5 > query.Length)
        {
            return null;
        }

        var questionEnd = at + 5;
        var type = BinaryPrimitives.ReadUInt16BigEndian(query.AsSpan(at + 1));
        var addresses = Array.Empty<IPAddress>();
        var code = NameError;
        // SERVICE.NAMESPACE.svc.cluster.local
        if (labels.Count == 5 && string.Join('.', labels[2..]) == $"svc.{ClusterDomain}")
        {
            try
            {
                if (await endpoints(labels[1], labels[0]) is { } ready)
                {
                    code = 0;
                    addresses = type == TypeA ? [.. ready] : [];
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
            {
                code = ServerFailure;
            }
        }

        var answer = new byte[questionEnd + (addresses.Length * 16)];
        query.AsSpan(0, questionEnd).CopyTo(answer);
        // A response, authoritative, recursion desired as asked, recursion available, and the code.
        answer[2] = (byte)(0x80 | 0x04 | (query[2] & 0x79));
        answer[3] = (byte)(0x80 | code);
        BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(6), (ushort)addresses.Length);
        answer.AsSpan(8, 4).Clear();
        var record = questionEnd;
        foreach (var address in addresses)
        {
            // The name, as a pointer to the question's; type A, class IN, a TTL of 5 s, four bytes.
            BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(record), 0xC00C);
            BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(record + 2), TypeA);
            BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(record + 4), ClassInternet);
            BinaryPrimitives.WriteUInt32BigEndian(answer.AsSpan(record + 6), 5);
            BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(record + 10), 4);
            address.GetAddressBytes().CopyTo(answer, record + 12);
            record += 16;
        }

        return answer;
    }

    private async Task ServeAsync()
    {
        var buffer = new byte[512];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            }
            catch (SocketException) when (!_stop.IsCancellationRequested)
            {
                continue;
            }

            var query = buffer[..received.ReceivedBytes];
            _ = Task.Run(async () =>
            {
                if (await AnswerAsync(query, ReadyAddressesAsync) is { } answer)
                {
                    try
                    {
                        await _socket.SendToAsync(answer, SocketFlags.None, received.RemoteEndPoint, _stop.Token);
                    }
                    catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
                    {
                    }
                }
            });
        }
    }

    /// <summary>The ready IPv4 addresses of the Service's Endpoints; null when there is no such Service.</summary>
    private async Task<IReadOnlyList<IPAddress>?> ReadyAddressesAsync(string @namespace, string service)
    {
        using var response = await _api.GetAsync(new Uri(_server, $"/api/v1/namespaces/{Uri.EscapeDataString(@namespace)}/endpoints/{Uri.EscapeDataString(service)}"));
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            using var exists = await _api.GetAsync(new Uri(_server, $"/api/v1/namespaces/{Uri.EscapeDataString(@namespace)}/services/{Uri.EscapeDataString(service)}"));
            return exists.IsSuccessStatusCode ? [] : null;
        }

        response.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.TryGetProperty("subsets", out var subsets)
            ? [.. subsets.EnumerateArray()
                .SelectMany(s => s.TryGetProperty("addresses", out var a) ? a.EnumerateArray() : Enumerable.Empty<JsonElement>())
                .Select(a => IPAddress.Parse(a.GetProperty("ip").GetString()!))
                .Where(a => a.AddressFamily == AddressFamily.InterNetwork)]
            : [];
    }
}
