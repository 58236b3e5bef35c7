using System.Globalization;
using AgentMetrics.Testing;

namespace AgentMetrics.Dashboards.Bench;

/// <summary>Figures read from /proc.</summary>
public static class Measure
{
    /// <summary>The resident memory of <paramref name="server"/>'s process, in MB.</summary>
    public static double ResidentMegabytes(LocalServer server)
    {
        var lines = File.ReadAllLines($"/proc/{server.Process!.Identity.Pid}/status");
        var kb = lines.First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        return long.Parse(kb, CultureInfo.InvariantCulture) / 1024.0;
    }
}
