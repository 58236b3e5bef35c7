using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentMetrics.Kubernetes.Models;

/// <summary>Reads any RFC 3339 time; writes it in UTC in the one layout the API server expects for the field.</summary>
public abstract class KubernetesTimeConverterBase(string layout) : JsonConverter<DateTimeOffset?>
{
    /// <inheritdoc />
    public override DateTimeOffset? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null
            ? null
            : DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, DateTimeOffset? value, JsonSerializerOptions options)
    {
        if (value is { } time)
        {
            writer.WriteStringValue(time.UtcDateTime.ToString(layout, CultureInfo.InvariantCulture));
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}

/// <summary>metav1.Time: whole seconds.</summary>
public sealed class KubernetesTimeConverter() : KubernetesTimeConverterBase("yyyy-MM-dd'T'HH:mm:ss'Z'");

/// <summary>metav1.MicroTime: exactly six fractional digits, which the API server requires.</summary>
public sealed class KubernetesMicroTimeConverter() : KubernetesTimeConverterBase("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'");
