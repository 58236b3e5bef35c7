using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace AgentMetrics.Testing;

/// <summary>
/// Hands out free TCP ports on 127.0.0.1, never the same one twice in a run. They come from below the
/// kernel's ephemeral range: a port the kernel handed out once can be taken by any outgoing connection
/// before the server that was promised it binds, and the tests make thousands of connections.
/// </summary>
public static class LoopbackPorts
{
    private const int Lowest = 10000;
    private static readonly HashSet<int> Handed = [];
    private static readonly Lock Gate = new();
    private static readonly int Ceiling = EphemeralStart() - 1;

    /// <summary>A port nothing listens on right now, outside the ephemeral range.</summary>
    public static int Next()
    {
        lock (Gate)
        {
            while (true)
            {
                var port = Random.Shared.Next(Lowest, Ceiling + 1);
                if (Handed.Contains(port))
                {
                    continue;
                }

                try
                {
                    using var listener = new TcpListener(IPAddress.Loopback, port);
                    listener.Start();
                    listener.Stop();
                }
                catch (SocketException)
                {
                    continue;
                }

                Handed.Add(port);
                return port;
            }
        }
    }

    private static int EphemeralStart()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            var start = int.Parse(range[0], CultureInfo.InvariantCulture);
            return start > Lowest + 1000 ? start : 32768;
        }
        catch (IOException)
        {
            return 32768;
        }
    }
}
