using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace AgentMetrics.Cli.Manifests;

/// <summary>
/// Reads a YAML (or JSON) manifest stream into objects, the way kubectl does: every document, and the
/// items of a List (what `kubectl get -o yaml` and some renderers print); plain scalars that look like
/// numbers, booleans or null become them. A pure function of the text.
/// </summary>
public static partial class ManifestParser
{
    /// <summary>The objects of <paramref name="text"/>; a stream that is not YAML throws a <see cref="ManifestException"/> naming the line.</summary>
    public static IReadOnlyList<Manifest> Parse(string file, string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new ManifestException($"{file}:{e.Start.Line}: not valid YAML: {Flatten(e.InnerException?.Message ?? e.Message)}");
        }

        var manifests = new List<Manifest>();
        foreach (var document in stream.Documents)
        {
            var lines = new Dictionary<string, int>(StringComparer.Ordinal);
            var node = Convert(document.RootNode, "", lines, file);
            if (node is null)
            {
                continue;
            }

            if (node is not JsonObject json)
            {
                throw new ManifestException($"{file}:{Line(document.RootNode)}: a document must be a mapping (an object), not a {node.GetValueKind().ToString().ToLowerInvariant()}");
            }

            Add(manifests, file, Line(document.RootNode), json, lines, "");
        }

        return manifests;
    }

    private static void Add(List<Manifest> manifests, string file, int line, JsonObject json, Dictionary<string, int> lines, string prefix)
    {
        var kind = json["kind"] is JsonValue value && value.TryGetValue<string>(out var text) ? text : "";
        if (kind.EndsWith("List", StringComparison.Ordinal) && json["items"] is JsonArray items)
        {
            for (var i = 0; i < items.Count; i++)
            {
                if (items[i] is JsonObject item)
                {
                    var itemPrefix = $"{prefix}items[{i}].";
                    Add(manifests, file, lines.GetValueOrDefault($"{prefix}items[{i}]", line), item, lines, itemPrefix);
                }
            }

            return;
        }

        manifests.Add(new Manifest(file, line, json, lines, prefix));
    }

    private static JsonNode? Convert(YamlNode node, string path, Dictionary<string, int> lines, string file)
    {
        if (path.Length > 0)
        {
            lines[path] = Line(node);
        }

        switch (node)
        {
            case YamlMappingNode mapping:
                var json = new JsonObject();
                foreach (var (key, value) in mapping.Children)
                {
                    if (key is not YamlScalarNode { Value: { } name })
                    {
                        throw new ManifestException($"{file}:{Line(key)}: a mapping key must be a plain string");
                    }

                    if (json.ContainsKey(name))
                    {
                        throw new ManifestException($"{file}:{Line(key)}: the key \"{name}\" appears twice in one mapping");
                    }

                    var childPath = path.Length == 0 ? name : $"{path}.{name}";
                    json[name] = Convert(value, childPath, lines, file);
                    // The key's line, not the value's: a nested mapping starts on the line after its key.
                    lines[childPath] = Line(key);
                }

                return json;
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    array.Add(Convert(sequence.Children[i], $"{path}[{i}]", lines, file));
                }

                return array;
            case YamlScalarNode { Style: ScalarStyle.Plain, Tag.IsEmpty: true } scalar:
                return Plain(scalar.Value);
            case YamlScalarNode scalar:
                return JsonValue.Create(scalar.Value ?? "");
            default:
                throw new ManifestException($"{file}:{Line(node)}: unsupported YAML node {node.NodeType}");
        }
    }

    private static JsonNode? Plain(string? value)
    {
        if (value is null or "" or "null" or "Null" or "NULL" or "~")
        {
            return null;
        }

        if (value is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            return JsonValue.Create(value[0] is 't' or 'T');
        }

        if (Integer().IsMatch(value) && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }

        return Number().IsMatch(value) && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            ? JsonValue.Create(number)
            : JsonValue.Create(value);
    }

    private static int Line(YamlNode node) => (int)node.Start.Line;

    private static string Flatten(string message) => string.Join(' ', message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Number();
}
