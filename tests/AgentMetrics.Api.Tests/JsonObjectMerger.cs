using System.Text.Json.Nodes;

namespace AgentMetrics.Api.Tests;

/// <summary>Applies a JSON merge patch (RFC 7386) to a base document, so each test row states only what it changes.</summary>
internal sealed class JsonObjectMerger(string baseJson)
{
    public string With(string patchJson)
    {
        var target = JsonNode.Parse(baseJson)!.AsObject();
        Merge(target, JsonNode.Parse(patchJson)!.AsObject());
        return target.ToJsonString();
    }

    private static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (key, value) in patch.ToList())
        {
            if (value is null)
            {
                target.Remove(key);
            }
            else if (value is JsonObject child && target[key] is JsonObject existing)
            {
                Merge(existing, child);
            }
            else
            {
                target[key] = value.DeepClone();
            }
        }
    }
}
