namespace AgentMetrics.Sidecar.Ingest;

/// <summary>
/// Text a client sent, as an error message quotes it: a bounded prefix and an ellipsis, so a
/// 10,000-character field name still names the field without coming back whole in the answer.
/// </summary>
public static class ClientText
{
    /// <summary>The most characters of a client's name or value an error quotes.</summary>
    public const int MaxQuoted = 64;

    /// <summary><paramref name="text"/>, cut to <paramref name="max"/> characters and marked with "…" when longer; a surrogate pair is never split.</summary>
    public static string Clip(string? text, int max = MaxQuoted)
    {
        if (text is null || text.Length <= max)
        {
            return text ?? "";
        }

        var cut = char.IsHighSurrogate(text[max - 1]) ? max - 1 : max;
        return string.Concat(text.AsSpan(0, cut), "…");
    }
}
