using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace AgentMetrics.Kubernetes.Models;

/// <summary>Any Kubernetes object: what the runtime needs to cache, key and watch it.</summary>
public interface IKubernetesObject
{
    string? ApiVersion { get; set; }

    string? Kind { get; set; }

    ObjectMeta Metadata { get; set; }
}

/// <summary>
/// An object of any kind, typed only as far as its metadata: spec, status and everything else stay
/// as JSON in <see cref="Body"/>, so reading and writing it back loses no field.
/// </summary>
[JsonConverter(typeof(KubernetesObjectConverter))]
public sealed class KubernetesObject : IKubernetesObject
{
    public string? ApiVersion { get; set; }

    public string? Kind { get; set; }

    public ObjectMeta Metadata { get; set; } = new();

    /// <summary>Every top-level field besides apiVersion, kind and metadata, editable in place.</summary>
    public JsonObject Body { get; set; } = [];
}

/// <summary>Helpers over any object's metadata.</summary>
public static class KubernetesObjectExtensions
{
    /// <summary>The cache and work-queue key of an object.</summary>
    public static ObjectKey Key(this IKubernetesObject obj) =>
        new(obj.Metadata.Namespace, obj.Metadata.Name ?? throw new InvalidOperationException("object has no name"));

    /// <summary>The owner reference with controller: true, if any.</summary>
    public static OwnerReference? ControllerOwner(this IKubernetesObject obj) =>
        obj.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true);
}

/// <summary>
/// Reads any object into typed metadata plus a JSON body and writes it back field for field.
/// (An extension-data JsonObject would do the same, but the source generator writes it as a nested object.)
/// </summary>
public sealed class KubernetesObjectConverter : JsonConverter<KubernetesObject>
{
    /// <inheritdoc />
    public override KubernetesObject Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (JsonNode.Parse(ref reader) is not JsonObject body)
        {
            throw new JsonException("a Kubernetes object must be a JSON object");
        }

        var obj = new KubernetesObject
        {
            ApiVersion = Take(body, "apiVersion")?.GetValue<string>(),
            Kind = Take(body, "kind")?.GetValue<string>(),
            Metadata = Take(body, "metadata")?.Deserialize(KubernetesJsonContext.Default.ObjectMeta) ?? new ObjectMeta(),
            Body = body,
        };
        return obj;
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, KubernetesObject value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        if (value.ApiVersion is not null)
        {
            writer.WriteString("apiVersion", value.ApiVersion);
        }

        if (value.Kind is not null)
        {
            writer.WriteString("kind", value.Kind);
        }

        writer.WritePropertyName("metadata");
        JsonSerializer.Serialize(writer, value.Metadata, KubernetesJsonContext.Default.ObjectMeta);
        foreach (var (name, field) in value.Body)
        {
            writer.WritePropertyName(name);
            if (field is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                field.WriteTo(writer);
            }
        }

        writer.WriteEndObject();
    }

    private static JsonNode? Take(JsonObject body, string name)
    {
        body.Remove(name, out var node);
        return node;
    }
}
