using System.Text;

namespace AgentMetrics.Sidecar.Ingest;

/// <summary>
/// The label and metric name rules applied to what agents send: OpenTelemetry keys and names become
/// Prometheus names by turning every character outside <c>[a-zA-Z0-9_]</c> (or <c>:</c> in metric
/// names) into an underscore, and prefixing one that starts with a digit.
/// </summary>
public static class LabelNames
{
    /// <summary>The Prometheus label name for an attribute key.</summary>
    public static string Translate(string key) => Translate(key, allowColon: false);

    /// <summary>The Prometheus metric name for an OTLP metric name.</summary>
    public static string TranslateMetric(string name) => Translate(name, allowColon: true);

    /// <summary>Whether <paramref name="key"/> becomes <paramref name="label"/> once translated.</summary>
    public static bool TranslatesTo(string key, string label)
    {
        var offset = key.Length > 0 && char.IsAsciiDigit(key[0]) ? 1 : 0;
        if (key.Length + offset != label.Length || (offset == 1 && label[0] != '_'))
        {
            return false;
        }

        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if ((IsLabelChar(c) ? c : '_') != label[i + offset])
            {
                return false;
            }
        }

        return true;
    }

    private static string Translate(string name, bool allowColon)
    {
        if (name.Length == 0)
        {
            return "_";
        }

        var clean = true;
        foreach (var c in name)
        {
            if (!(IsLabelChar(c) || (allowColon && c == ':')))
            {
                clean = false;
                break;
            }
        }

        if (clean && !char.IsAsciiDigit(name[0]))
        {
            return name;
        }

        var text = new StringBuilder(name.Length + 1);
        if (char.IsAsciiDigit(name[0]))
        {
            text.Append('_');
        }

        foreach (var c in name)
        {
            text.Append(IsLabelChar(c) || (allowColon && c == ':') ? c : '_');
        }

        return text.ToString();
    }

    private static bool IsLabelChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';
}
