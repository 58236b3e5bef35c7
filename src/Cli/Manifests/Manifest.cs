using System.Text.Json.Nodes;

namespace AgentMetrics.Cli.Manifests;

/// <summary>
/// One object read from a manifest stream: the file and line it starts at, the object as the API server
/// would read it (JSON), and the line of each of its fields, so a problem can point at the line to fix.
/// </summary>
public sealed class Manifest(string file, int line, JsonObject json, IReadOnlyDictionary<string, int> lines, string prefix)
{
    /// <summary>The file as named on the command line (or &lt;stdin&gt;).</summary>
    public string File { get; } = file;

    /// <summary>The line the object starts at, 1-based.</summary>
    public int Line { get; } = line;

    /// <summary>The object.</summary>
    public JsonObject Json { get; } = json;

    /// <summary>The object's kind, or "" when it has none.</summary>
    public string Kind => Json["kind"] is JsonValue value && value.TryGetValue<string>(out var kind) ? kind : "";

    /// <summary>The object's apiVersion, or "" when it has none.</summary>
    public string ApiVersion => Json["apiVersion"] is JsonValue value && value.TryGetValue<string>(out var version) ? version : "";

    /// <summary>
    /// The line of <paramref name="field"/> (a path such as spec.metric.name or spec.source.labels[0]),
    /// or of its nearest ancestor that is written out, or of the object itself.
    /// </summary>
    public int LineOf(string field)
    {
        var path = field;
        while (path.Length > 0)
        {
            if (lines.TryGetValue(prefix + path, out var found))
            {
                return found;
            }

            var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
            path = cut < 0 ? "" : path[..cut];
        }

        return Line;
    }
}
