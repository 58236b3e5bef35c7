using System.Globalization;
using System.Text.Json;
using AgentMetrics.Api.Catalog;

namespace AgentMetrics.Sidecar.Ingest;

/// <summary>A problem with one field of a request, named by its JSON path.</summary>
public sealed record IngestError(string Field, string Message);

/// <summary>
/// Parses and validates a request to the JSON events API: one event, an array of events, or
/// <c>{"events": [...]}</c>. Either every event is valid and all are returned, or none is and every
/// problem is reported, so a rejected batch changes nothing.
/// </summary>
public static class EventParser
{
    /// <summary>The most events one request may carry.</summary>
    public const int MaxEventsPerRequest = 10_000;

    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 16 };

    private static readonly string[] Common = ["type", "timestamp", "attributes"];

    private static readonly string[] Durations = ["duration_seconds", "start", "end"];

    private static readonly Dictionary<string, (EventType Type, string[] Fields)> Types = new(StringComparer.Ordinal)
    {
        ["task"] = (EventType.Task, ["task_type", "outcome", .. Durations, "tokens_in", "tokens_out", "cost", "model"]),
        ["llm_call"] = (EventType.LlmCall, ["operation", "provider", "model", .. Durations, "time_to_first_token_seconds", "tokens_in", "tokens_out", "error_type"]),
        ["tool_call"] = (EventType.ToolCall, ["tool", "tool_type", .. Durations, "error_type"]),
        ["handoff"] = (EventType.Handoff, ["target_agent", "outcome", "context_preserved"]),
        ["escalation"] = (EventType.Escalation, ["reason"]),
        ["feedback"] = (EventType.Feedback, ["task_type", "satisfaction", "accuracy"]),
        ["gauge"] = (EventType.Gauge, ["queue_depth", "tasks_in_flight"]),
        ["error"] = (EventType.Error, ["error_type"]),
        ["observation"] = (EventType.Observation, ["metric", "value"]),
    };

    private static readonly string TypeList = string.Join(", ", Types.Keys);

    /// <summary>Parses <paramref name="body"/>; the events when <paramref name="errors"/> is empty.</summary>
    public static List<AgentEvent> Parse(ReadOnlyMemory<byte> body, List<IngestError> errors)
    {
        var events = new List<AgentEvent>();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, Options);
        }
        catch (JsonException e)
        {
            errors.Add(new("$", $"not valid JSON: {e.Message}"));
            return events;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("events", out var batch))
            {
                if (batch.ValueKind != JsonValueKind.Array)
                {
                    errors.Add(new("events", "must be an array of events"));
                    return events;
                }

                ParseArray(batch, "events", events, errors);
            }
            else if (root.ValueKind == JsonValueKind.Array)
            {
                ParseArray(root, "", events, errors);
            }
            else if (root.ValueKind == JsonValueKind.Object)
            {
                if (ParseEvent(root, "", errors) is { } single)
                {
                    events.Add(single);
                }
            }
            else
            {
                errors.Add(new("$", "must be an event object, an array of events, or {\"events\": [...]}"));
            }
        }

        if (errors.Count > 0)
        {
            events.Clear();
        }

        return events;
    }

    private static void ParseArray(JsonElement array, string path, List<AgentEvent> events, List<IngestError> errors)
    {
        var length = array.GetArrayLength();
        if (length == 0)
        {
            errors.Add(new(path.Length == 0 ? "$" : path, "holds no events"));
            return;
        }

        if (length > MaxEventsPerRequest)
        {
            errors.Add(new(path.Length == 0 ? "$" : path, $"holds {length} events; the most one request may carry is {MaxEventsPerRequest}"));
            return;
        }

        var index = 0;
        foreach (var element in array.EnumerateArray())
        {
            var prefix = path.Length == 0 ? $"[{index}]" : $"{path}[{index}]";
            if (element.ValueKind != JsonValueKind.Object)
            {
                errors.Add(new(prefix, "must be an event object"));
            }
            else if (ParseEvent(element, prefix + ".", errors) is { } parsed)
            {
                events.Add(parsed);
            }

            index++;
        }
    }

    private static AgentEvent? ParseEvent(JsonElement element, string prefix, List<IngestError> errors)
    {
        var reader = new FieldReader(element, prefix, errors);
        var typeName = reader.String("type", required: true);
        if (typeName is null)
        {
            return null;
        }

        if (!Types.TryGetValue(typeName, out var type))
        {
            errors.Add(new(prefix + "type", $"\"{typeName}\" is not an event type; use one of {TypeList}"));
            return null;
        }

        reader.RejectUnknown(Common, type.Fields);
        reader.Timestamp("timestamp");
        var fields = reader.Attributes("attributes");
        var duration = type.Fields.Contains("duration_seconds") ? reader.Duration(required: true) : null;
        var result = type.Type switch
        {
            EventType.Task => new AgentEvent
            {
                Outcome = reader.OneOf("outcome", BuiltInMetrics.TaskOutcomes, required: true),
                TaskType = reader.String("task_type"),
                DurationSeconds = duration,
                TokensIn = reader.Count("tokens_in"),
                TokensOut = reader.Count("tokens_out"),
                Cost = reader.Number("cost", min: 0),
                Model = reader.String("model"),
            },
            EventType.LlmCall => new AgentEvent
            {
                Operation = reader.String("operation"),
                Provider = reader.String("provider"),
                Model = reader.String("model"),
                DurationSeconds = duration,
                TimeToFirstTokenSeconds = reader.Number("time_to_first_token_seconds", min: 0),
                TokensIn = reader.Count("tokens_in"),
                TokensOut = reader.Count("tokens_out"),
                ErrorType = reader.String("error_type"),
            },
            EventType.ToolCall => new AgentEvent
            {
                Tool = reader.String("tool", required: true),
                ToolType = reader.String("tool_type"),
                DurationSeconds = duration,
                ErrorType = reader.String("error_type"),
            },
            EventType.Handoff => new AgentEvent
            {
                TargetAgent = reader.String("target_agent", required: true),
                Outcome = reader.OneOf("outcome", ["success", "failure"], required: true),
                ContextPreserved = reader.Boolean("context_preserved"),
            },
            EventType.Escalation => new AgentEvent { Reason = reader.String("reason", required: true) },
            EventType.Feedback => Feedback(reader),
            EventType.Gauge => Gauge(reader),
            EventType.Error => new AgentEvent { ErrorType = reader.String("error_type", required: true) },
            EventType.Observation => new AgentEvent
            {
                Metric = reader.String("metric", required: true),
                Value = reader.Number("value", min: double.MinValue, required: true),
            },
            _ => throw new InvalidOperationException($"unhandled event type {type.Type}"),
        };

        if (reader.Failed)
        {
            return null;
        }

        reader.CopyScalars(fields);
        return result with { Type = type.Type, TypeName = typeName, Fields = fields, Path = prefix };
    }

    private static AgentEvent Feedback(FieldReader reader)
    {
        var satisfaction = reader.Number("satisfaction", min: 0, max: 1);
        var accuracy = reader.Number("accuracy", min: 0, max: 1);
        if (satisfaction is null && accuracy is null)
        {
            reader.Fail("satisfaction", "a feedback event needs satisfaction or accuracy (0 to 1)");
        }

        return new AgentEvent { TaskType = reader.String("task_type"), Satisfaction = satisfaction, Accuracy = accuracy };
    }

    private static AgentEvent Gauge(FieldReader reader)
    {
        var queue = reader.Number("queue_depth", min: 0);
        var inFlight = reader.Number("tasks_in_flight", min: 0);
        if (queue is null && inFlight is null)
        {
            reader.Fail("queue_depth", "a gauge event needs queue_depth or tasks_in_flight");
        }

        return new AgentEvent { QueueDepth = queue, TasksInFlight = inFlight };
    }

    /// <summary>Reads and checks the fields of one event object, collecting errors under its path.</summary>
    private sealed class FieldReader(JsonElement element, string prefix, List<IngestError> errors)
    {
        private readonly int _errorsBefore = errors.Count;

        public bool Failed => errors.Count > _errorsBefore;

        public void Fail(string field, string message) => errors.Add(new(prefix + field, message));

        public void RejectUnknown(string[] common, string[] fields)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (!common.Contains(property.Name) && !fields.Contains(property.Name))
                {
                    Fail(property.Name, $"is not a field of this event type; it takes {string.Join(", ", fields)} (and type, timestamp, attributes)");
                }
            }
        }

        public string? String(string name, bool required = false)
        {
            if (!Present(name, out var value))
            {
                if (required)
                {
                    Fail(name, "is required");
                }

                return null;
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                Fail(name, $"must be a string, got {Describe(value)}");
                return null;
            }

            var text = value.GetString()!;
            if (required && text.Length == 0)
            {
                Fail(name, "must not be empty");
                return null;
            }

            return text;
        }

        public string? OneOf(string name, IReadOnlyList<string> allowed, bool required)
        {
            var text = String(name, required);
            if (text is not null && !allowed.Contains(text))
            {
                Fail(name, $"\"{text}\" is not allowed; use one of {string.Join(", ", allowed)}");
                return null;
            }

            return text;
        }

        public double? Number(string name, double min = double.MinValue, double max = double.MaxValue, bool required = false)
        {
            if (!Present(name, out var value))
            {
                if (required)
                {
                    Fail(name, "is required");
                }

                return null;
            }

            if (value.ValueKind != JsonValueKind.Number)
            {
                Fail(name, $"must be a number, got {Describe(value)}");
                return null;
            }

            if (!value.TryGetDouble(out var number) || !double.IsFinite(number))
            {
                Fail(name, $"{value.GetRawText()} is out of range for a number");
                return null;
            }

            if (number < min || number > max)
            {
                Fail(name, max == double.MaxValue
                    ? $"must be at least {min.ToString(CultureInfo.InvariantCulture)}, got {number.ToString(CultureInfo.InvariantCulture)}"
                    : $"must be between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}, got {number.ToString(CultureInfo.InvariantCulture)}");
                return null;
            }

            return number;
        }

        public long? Count(string name)
        {
            if (!Present(name, out var value))
            {
                return null;
            }

            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var count))
            {
                Fail(name, $"must be a whole number, got {Describe(value)}");
                return null;
            }

            if (count < 0)
            {
                Fail(name, $"must not be negative, got {count}");
                return null;
            }

            return count;
        }

        public bool? Boolean(string name)
        {
            if (!Present(name, out var value))
            {
                return null;
            }

            if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                Fail(name, $"must be true or false, got {Describe(value)}");
                return null;
            }

            return value.GetBoolean();
        }

        public DateTimeOffset? Timestamp(string name)
        {
            var text = String(name);
            if (text is null)
            {
                return null;
            }

            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var time))
            {
                Fail(name, $"\"{text}\" is not an RFC 3339 time such as 2026-01-02T15:04:05.123Z");
                return null;
            }

            return time;
        }

        public double? Duration(bool required)
        {
            var seconds = Number("duration_seconds", min: 0);
            var start = Timestamp("start");
            var end = Timestamp("end");
            if (seconds is not null)
            {
                if (start is not null || end is not null)
                {
                    Fail("duration_seconds", "give duration_seconds or start and end, not both");
                }

                return seconds;
            }

            if (start is not null && end is not null)
            {
                if (end < start)
                {
                    Fail("end", "must not be before start");
                    return null;
                }

                return (end.Value - start.Value).TotalSeconds;
            }

            if (start is not null || end is not null)
            {
                Fail(start is null ? "start" : "end", "start and end go together");
            }
            else if (required && !Failed)
            {
                Fail("duration_seconds", "is required (or start and end)");
            }

            return null;
        }

        public Attributes Attributes(string name)
        {
            var attributes = new Attributes();
            if (!Present(name, out var value))
            {
                return attributes;
            }

            if (value.ValueKind != JsonValueKind.Object)
            {
                Fail(name, $"must be an object of strings, numbers and booleans, got {Describe(value)}");
                return attributes;
            }

            foreach (var property in value.EnumerateObject())
            {
                switch (property.Value.ValueKind)
                {
                    case JsonValueKind.String:
                        attributes.Set(property.Name, AttributeValue.Of(property.Value.GetString()!));
                        break;
                    case JsonValueKind.Number when property.Value.TryGetDouble(out var number) && double.IsFinite(number):
                        attributes.Set(property.Name, AttributeValue.Of(number));
                        break;
                    case JsonValueKind.True or JsonValueKind.False:
                        attributes.Set(property.Name, AttributeValue.Of(property.Value.GetBoolean()));
                        break;
                    default:
                        Fail($"{name}.{property.Name}", $"must be a string, a finite number or a boolean, got {Describe(property.Value)}");
                        break;
                }
            }

            return attributes;
        }

        /// <summary>Top-level scalar fields become attributes too (attributes win), so custom definitions can read them.</summary>
        public void CopyScalars(Attributes fields)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (property.Name is "attributes" or "type" or "timestamp" || fields.TryGet(property.Name, out _))
                {
                    continue;
                }

                switch (property.Value.ValueKind)
                {
                    case JsonValueKind.String:
                        fields.Set(property.Name, AttributeValue.Of(property.Value.GetString()!));
                        break;
                    case JsonValueKind.Number when property.Value.TryGetDouble(out var number):
                        fields.Set(property.Name, AttributeValue.Of(number));
                        break;
                    case JsonValueKind.True or JsonValueKind.False:
                        fields.Set(property.Name, AttributeValue.Of(property.Value.GetBoolean()));
                        break;
                }
            }
        }

        private bool Present(string name, out JsonElement value) =>
            element.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

        private static string Describe(JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => $"the string \"{Clip(value.GetString()!)}\"",
            JsonValueKind.Number => $"the number {Clip(value.GetRawText())}",
            JsonValueKind.True or JsonValueKind.False => $"the boolean {value.GetRawText()}",
            _ => "null",
        };

        private static string Clip(string text) => text.Length <= 40 ? text : text[..40] + "…";
    }
}
