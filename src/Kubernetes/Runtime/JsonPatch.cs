using System.Text.Json.Nodes;

namespace AgentMetrics.Kubernetes.Runtime;

/// <summary>
/// Computes the RFC 6902 JSON Patch that turns one document into another, so a mutating webhook can
/// say what a pod should become and leave the operations to this. Members and the elements of an
/// array that kept or grew its length are diffed one by one, new elements appended; an array that
/// shrank is replaced whole.
/// </summary>
public static class JsonPatch
{
    /// <summary>The operations that turn <paramref name="before"/> into <paramref name="after"/>; empty when they are equal.</summary>
    public static JsonArray Diff(JsonNode? before, JsonNode? after)
    {
        var operations = new JsonArray();
        Diff(before, after, "", operations);
        return operations;
    }

    /// <summary>Escapes one reference token of a JSON Pointer (RFC 6901).</summary>
    public static string Escape(string token) => token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static void Diff(JsonNode? before, JsonNode? after, string path, JsonArray operations)
    {
        if (JsonNode.DeepEquals(before, after))
        {
            return;
        }

        if (before is JsonObject left && after is JsonObject right)
        {
            foreach (var (name, value) in left)
            {
                if (!right.ContainsKey(name))
                {
                    operations.Add(Operation("remove", $"{path}/{Escape(name)}", null, withValue: false));
                }
                else
                {
                    Diff(value, right[name], $"{path}/{Escape(name)}", operations);
                }
            }

            foreach (var (name, value) in right)
            {
                if (!left.ContainsKey(name))
                {
                    operations.Add(Operation("add", $"{path}/{Escape(name)}", value, withValue: true));
                }
            }

            return;
        }

        if (before is JsonArray shorter && after is JsonArray longer && shorter.Count <= longer.Count)
        {
            for (var i = 0; i < shorter.Count; i++)
            {
                Diff(shorter[i], longer[i], $"{path}/{i}", operations);
            }

            for (var i = shorter.Count; i < longer.Count; i++)
            {
                operations.Add(Operation("add", $"{path}/-", longer[i], withValue: true));
            }

            return;
        }

        operations.Add(Operation("replace", path, after, withValue: true));
    }

    private static JsonObject Operation(string op, string path, JsonNode? value, bool withValue)
    {
        var operation = new JsonObject { ["op"] = op, ["path"] = path };
        if (withValue)
        {
            operation["value"] = value?.DeepClone();
        }

        return operation;
    }
}
