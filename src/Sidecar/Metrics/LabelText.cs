using System.Text;

namespace AgentMetrics.Sidecar.Metrics;

/// <summary>Label text as the Prometheus exposition formats write it: <c>name="value"</c>, escaped.</summary>
internal static class LabelText
{
    /// <summary>Appends <c>name="value"</c> pairs, comma-separated, skipping empty values (Prometheus treats them as absent).</summary>
    public static void Append(StringBuilder text, ReadOnlySpan<string> pairs)
    {
        for (var i = 0; i + 1 < pairs.Length; i += 2)
        {
            if (pairs[i + 1].Length == 0)
            {
                continue;
            }

            if (text.Length > 0)
            {
                text.Append(',');
            }

            text.Append(pairs[i]).Append("=\"");
            AppendEscaped(text, pairs[i + 1]);
            text.Append('"');
        }
    }

    /// <summary>Encodes label pairs to UTF-8 text.</summary>
    public static byte[] Encode(ReadOnlySpan<string> identity, ReadOnlySpan<string> pairs)
    {
        var text = new StringBuilder();
        Append(text, identity);
        Append(text, pairs);
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>Escapes a label value: backslash, double quote and line feed.</summary>
    public static void AppendEscaped(StringBuilder text, string value)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\':
                    text.Append("\\\\");
                    break;
                case '"':
                    text.Append("\\\"");
                    break;
                case '\n':
                    text.Append("\\n");
                    break;
                default:
                    text.Append(c);
                    break;
            }
        }
    }

    /// <summary>Escapes help text: backslash and line feed, and the double quote too in OpenMetrics.</summary>
    public static string EscapeHelp(string help, bool openMetrics)
    {
        var text = new StringBuilder(help.Length);
        foreach (var c in help)
        {
            switch (c)
            {
                case '\\':
                    text.Append("\\\\");
                    break;
                case '\n':
                    text.Append("\\n");
                    break;
                case '"' when openMetrics:
                    text.Append("\\\"");
                    break;
                default:
                    text.Append(c);
                    break;
            }
        }

        return text.ToString();
    }
}
