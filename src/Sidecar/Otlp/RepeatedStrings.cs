using System.Text;

namespace AgentMetrics.Sidecar.Otlp;

/// <summary>
/// Short ASCII strings as the last request that carried them decoded them. An agent sends the same
/// attribute keys, attribute values and metric names in every export, so handing out the string an
/// earlier request made spares a string per field of every request, and lets the series and streams
/// made from many requests share one copy of each label rather than each keeping its own. A slot holds
/// whichever string last hashed to it; a miss just decodes, so unrelated strings evicting each other
/// costs a decode, never a wrong answer.
/// </summary>
internal static class RepeatedStrings
{
    /// <summary>Longer strings are decoded each time: they are rarely repeated labels, and would make the slots costly to hold.</summary>
    private const int MaxLength = 64;

    private static readonly string?[] Slots = new string?[4096];

    /// <summary>The string of <paramref name="utf8"/>, or null when it is too long or not ASCII (the caller decodes it).</summary>
    public static string? Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxLength || !Ascii.IsValid(utf8))
        {
            return null;
        }

        var hash = new HashCode();
        hash.AddBytes(utf8);
        ref var slot = ref Slots[hash.ToHashCode() & (Slots.Length - 1)];
        var known = Volatile.Read(ref slot);
        if (known is not null && Ascii.Equals(utf8, known))
        {
            return known;
        }

        // ASCII decodes to the same text as strict UTF-8 would.
        var text = Encoding.ASCII.GetString(utf8);
        Volatile.Write(ref slot, text);
        return text;
    }
}
