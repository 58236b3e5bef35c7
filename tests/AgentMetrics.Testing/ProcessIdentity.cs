using System.Globalization;

namespace AgentMetrics.Testing;

/// <summary>A process id together with its start time, so a recycled pid is never mistaken for ours.</summary>
public readonly record struct ProcessIdentity(int Pid, long StartTicks)
{
    /// <summary>The identity of a running process, or null when it is gone.</summary>
    public static ProcessIdentity? Of(int pid)
    {
        var start = ReadStartTicks(pid);
        return start is null ? null : new ProcessIdentity(pid, start.Value);
    }

    /// <summary>True while this exact process (same pid and start time) is alive.</summary>
    public bool IsAlive
    {
        get
        {
            var start = ReadStartTicks(Pid);
            return start == StartTicks && !IsZombie(Pid);
        }
    }

    private static long? ReadStartTicks(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        // The command name (field 2) may contain spaces and parentheses; fields after it do not.
        var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // rest[0] is field 3 (state); starttime is field 22.
        return long.Parse(rest[19], CultureInfo.InvariantCulture);
    }

    private static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2] == 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
