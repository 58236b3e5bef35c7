using System.Net;
using System.Net.Sockets;

namespace AgentMetrics.Testing;

/// <summary>Hands out free TCP ports on 127.0.0.1, never the same one twice in a run.</summary>
public static class LoopbackPorts
{
    private static readonly HashSet<int> Handed = [];
    private static readonly Lock Gate = new();

    /// <summary>A port nothing listens on right now.</summary>
    public static int Next()
    {
        lock (Gate)
        {
            while (true)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                if (Handed.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
