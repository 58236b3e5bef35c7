using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using AgentMetrics.Api.Catalog;

namespace AgentMetrics.Sidecar.Ingest;

/// <summary>A problem with one field of a request, named by its JSON path.</summary>
public sealed record IngestError(string Field, string Message);

/// <summary>
/// Parses and validates a request to the JSON events API: one event, an array of events, or
/// <c>{"events": [...]}</c>. Either every event is valid and all are returned, or none is and every
/// problem is reported, so a rejected batch changes nothing. One pass over the body with a
/// <see cref="Utf8JsonReader"/>: each event's fields are gathered into slots, then checked in a fixed
/// order, so the errors do not depend on the order the fields came in.
/// </summary>
public static partial class EventParser
{
    /// <summary>The most events one request may carry.</summary>
    public const int MaxEventsPerRequest = 10_000;

    private static readonly JsonReaderOptions Options = new() { MaxDepth = 16 };

    private static readonly string[] Durations = ["duration_seconds", "start", "end"];

    private static readonly string[] HandoffOutcomes = ["success", "failure"];

    private static readonly Dictionary<string, EventShape> Types = new EventShape[]
    {
        new("task", EventType.Task, ["task_type", "outcome", .. Durations, "tokens_in", "tokens_out", "cost", "model"]),
        new("llm_call", EventType.LlmCall, ["operation", "provider", "model", .. Durations, "time_to_first_token_seconds", "tokens_in", "tokens_out", "error_type"]),
        new("tool_call", EventType.ToolCall, ["tool", "tool_type", .. Durations, "error_type"]),
        new("handoff", EventType.Handoff, ["target_agent", "outcome", "context_preserved"]),
        new("escalation", EventType.Escalation, ["reason"]),
        new("feedback", EventType.Feedback, ["task_type", "satisfaction", "accuracy"]),
        new("gauge", EventType.Gauge, ["queue_depth", "tasks_in_flight"]),
        new("error", EventType.Error, ["error_type"]),
        new("observation", EventType.Observation, ["metric", "value"]),
    }.ToDictionary(shape => shape.Name, StringComparer.Ordinal);

    private static readonly Utf8Names<EventShape> TypesByName = new(Types.Select(t => (t.Key, t.Value)));

    private static readonly Utf8Names<Field> FieldsByName = new(Enum.GetValues<Field>().Where(f => f != Field.Unknown).Select(f => (FieldNames.Of(f), f)));

    /// <summary>Outcomes as the catalog spells them, so events share one string per outcome.</summary>
    private static readonly Utf8Names<string> Outcomes = new(BuiltInMetrics.TaskOutcomes.Select(o => (o, o)));

    private static readonly string TypeList = string.Join(", ", Types.Keys);

    /// <summary>The fields every event type takes.</summary>
    private static readonly uint CommonMask = Bit(Field.Type) | Bit(Field.Timestamp) | Bit(Field.Attributes);

    /// <summary>Parses <paramref name="body"/>; the events when <paramref name="errors"/> is empty.</summary>
    public static List<AgentEvent> Parse(ReadOnlyMemory<byte> body, List<IngestError> errors)
    {
        var events = new List<AgentEvent>();
        var first = errors.Count;
        try
        {
            var reader = new Utf8JsonReader(body.Span, Options);
            var slots = new Slot[FieldCount];
            reader.Read();
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray:
                    ParseArray(ref reader, body, slots, "", events, errors);
                    break;
                case JsonTokenType.StartObject:
                    ParseRoot(ref reader, body, slots, events, errors);
                    break;
                default:
                    errors.Add(new("$", "must be an event object, an array of events, or {\"events\": [...]}"));
                    break;
            }

            // Whatever follows the root value must be whitespace; the reader throws otherwise.
            reader.Read();
        }
        catch (JsonException e)
        {
            Refuse(events, errors, first, e.Message);
            return events;
        }
        catch (UnreadableTextException e)
        {
            // A syntax error anywhere is reported before text that cannot be decoded, wherever each is.
            Refuse(events, errors, first, SyntaxError(body.Span) ?? e.Message);
            return events;
        }

        if (errors.Count > 0)
        {
            events.Clear();
        }

        return events;
    }

    /// <summary>An event's attributes and its top-level scalar fields (attributes win), read again from the event's JSON object.</summary>
    internal static Attributes ReadFields(ReadOnlySpan<byte> source, int attributesAt)
    {
        var fields = new Attributes();
        if (attributesAt >= 0)
        {
            var attributes = new Utf8JsonReader(source[attributesAt..], Options);
            attributes.Read();
            while (attributes.Read() && attributes.TokenType == JsonTokenType.PropertyName)
            {
                var name = attributes.GetString()!;
                attributes.Read();
                if (Scalar(ref attributes, finiteOnly: true) is { } value)
                {
                    fields.Set(name, value);
                }
            }
        }

        var reader = new Utf8JsonReader(source, Options);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            if (name is "attributes" or "type" or "timestamp" || fields.TryGet(name, out _))
            {
                reader.Skip();
                continue;
            }

            if (Scalar(ref reader, finiteOnly: false) is { } value)
            {
                fields.Set(name, value);
            }
        }

        return fields;
    }

    private static AttributeValue? Scalar(ref Utf8JsonReader reader, bool finiteOnly)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return AttributeValue.Of(reader.GetString()!);
            case JsonTokenType.Number when reader.TryGetDouble(out var number) && (!finiteOnly || double.IsFinite(number)):
                return AttributeValue.Of(number);
            case JsonTokenType.True:
            case JsonTokenType.False:
                return AttributeValue.Of(reader.TokenType == JsonTokenType.True);
            default:
                reader.Skip();
                return null;
        }
    }

    private static void Refuse(List<AgentEvent> events, List<IngestError> errors, int first, string problem)
    {
        events.Clear();
        errors.RemoveRange(first, errors.Count - first);
        errors.Add(new("$", $"not valid JSON: {problem}"));
    }

    private static string? SyntaxError(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, Options);
        try
        {
            while (reader.Read())
            {
            }

            return null;
        }
        catch (JsonException e)
        {
            return e.Message;
        }
    }

    /// <summary>A root object: a batch under "events" (the last one, as a lookup by name finds), or else one event.</summary>
    private static void ParseRoot(ref Utf8JsonReader reader, ReadOnlyMemory<byte> body, Slot[] slots, List<AgentEvent> events, List<IngestError> errors)
    {
        var start = reader;
        var first = errors.Count;
        var batch = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isBatch = reader.ValueTextEquals("events"u8);
            reader.Read();
            if (!isBatch)
            {
                reader.Skip();
                continue;
            }

            batch = true;
            events.Clear();
            errors.RemoveRange(first, errors.Count - first);
            if (reader.TokenType == JsonTokenType.StartArray)
            {
                ParseArray(ref reader, body, slots, "events", events, errors);
            }
            else
            {
                errors.Add(new("events", "must be an array of events"));
                reader.Skip();
            }
        }

        if (!batch)
        {
            // Read again as one event; the reader ends where it was, on the closing brace.
            reader = start;
            if (ParseEvent(ref reader, body, slots, "", -1, errors) is { } single)
            {
                events.Add(single);
            }
        }
    }

    private static void ParseArray(ref Utf8JsonReader reader, ReadOnlyMemory<byte> body, Slot[] slots, string batch, List<AgentEvent> events, List<IngestError> errors)
    {
        var first = errors.Count;
        var count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            // Past the cap the array is refused whatever it holds: it is read on only for its length and its syntax.
            if (count < MaxEventsPerRequest)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    errors.Add(new($"{batch}[{count}]", "must be an event object"));
                }
                else if (ParseEvent(ref reader, body, slots, batch, count, errors) is { } parsed)
                {
                    events.Add(parsed);
                }
            }

            reader.Skip();
            count++;
        }

        var where = batch.Length == 0 ? "$" : batch;
        if (count == 0)
        {
            errors.Add(new(where, "holds no events"));
        }
        else if (count > MaxEventsPerRequest)
        {
            events.Clear();
            errors.RemoveRange(first, errors.Count - first);
            errors.Add(new(where, $"holds {count} events; the most one request may carry is {MaxEventsPerRequest}"));
        }
    }

    /// <summary>Reads one event object (the reader ends on its closing brace) and checks it; null when it has errors.</summary>
    private static AgentEvent? ParseEvent(ref Utf8JsonReader reader, ReadOnlyMemory<byte> body, Slot[] slots, string batch, int index, List<IngestError> errors)
    {
        var objectStart = (int)reader.TokenStartIndex;
        var names = reader;
        var check = new EventCheck(body.Span, slots, batch, index, errors);
        var foreign = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = FieldsByName.TryGet(Unescaped(ref reader), out var known) ? known : Field.Unknown;
            reader.Read();
            if (field == Field.Unknown)
            {
                foreign = true;
                reader.Skip();
                continue;
            }

            check.Gather(ref reader, field);
        }

        var source = body[objectStart..(int)reader.BytesConsumed];
        if (check.String(Field.Type, required: true) is null)
        {
            return null;
        }

        if (check.Shape is not { } shape)
        {
            check.Fail(Field.Type, $"\"{ClientText.Clip(check.TextOf(Field.Type))}\" is not an event type; use one of {TypeList}");
            return null;
        }

        if (foreign || (check.Seen & ~(CommonMask | shape.Mask)) != 0)
        {
            RejectUnknown(ref names, shape, ref check);
        }

        check.Timestamp(Field.Timestamp);
        check.Attributes();
        var duration = shape.HasDuration ? check.Duration(required: true) : null;
        var e = shape.Type switch
        {
            EventType.Task => new AgentEvent
            {
                Outcome = check.OneOf(Field.Outcome, BuiltInMetrics.TaskOutcomes, required: true),
                TaskType = check.String(Field.TaskType),
                DurationSeconds = duration,
                TokensIn = check.Count(Field.TokensIn),
                TokensOut = check.Count(Field.TokensOut),
                Cost = check.Number(Field.Cost, min: 0),
                Model = check.String(Field.Model),
            },
            EventType.LlmCall => new AgentEvent
            {
                Operation = check.String(Field.Operation),
                Provider = check.String(Field.Provider),
                Model = check.String(Field.Model),
                DurationSeconds = duration,
                TimeToFirstTokenSeconds = check.Number(Field.TimeToFirstTokenSeconds, min: 0),
                TokensIn = check.Count(Field.TokensIn),
                TokensOut = check.Count(Field.TokensOut),
                ErrorType = check.String(Field.ErrorType),
            },
            EventType.ToolCall => new AgentEvent
            {
                Tool = check.String(Field.Tool, required: true),
                ToolType = check.String(Field.ToolType),
                DurationSeconds = duration,
                ErrorType = check.String(Field.ErrorType),
            },
            EventType.Handoff => new AgentEvent
            {
                TargetAgent = check.String(Field.TargetAgent, required: true),
                Outcome = check.OneOf(Field.Outcome, HandoffOutcomes, required: true),
                ContextPreserved = check.Boolean(Field.ContextPreserved),
            },
            EventType.Escalation => new AgentEvent { Reason = check.String(Field.Reason, required: true) },
            EventType.Feedback => Feedback(ref check),
            EventType.Gauge => Gauge(ref check),
            EventType.Error => new AgentEvent { ErrorType = check.String(Field.ErrorType, required: true) },
            EventType.Observation => new AgentEvent
            {
                Metric = check.String(Field.Metric, required: true),
                Value = check.Number(Field.Value, min: double.MinValue, required: true),
            },
            _ => throw new InvalidOperationException($"unhandled event type {shape.Type}"),
        };

        if (check.Failed)
        {
            return null;
        }

        e.Type = shape.Type;
        e.TypeName = shape.Name;
        e.Batch = batch;
        e.Index = index;
        e.Source = source;
        e.AttributesAt = check.AttributesAt(objectStart);
        return e;
    }

    private static AgentEvent Feedback(ref EventCheck check)
    {
        var satisfaction = check.Number(Field.Satisfaction, min: 0, max: 1);
        var accuracy = check.Number(Field.Accuracy, min: 0, max: 1);
        if (satisfaction is null && accuracy is null)
        {
            check.Fail(Field.Satisfaction, "a feedback event needs satisfaction or accuracy (0 to 1)");
        }

        return new AgentEvent { TaskType = check.String(Field.TaskType), Satisfaction = satisfaction, Accuracy = accuracy };
    }

    private static AgentEvent Gauge(ref EventCheck check)
    {
        var queue = check.Number(Field.QueueDepth, min: 0);
        var inFlight = check.Number(Field.TasksInFlight, min: 0);
        if (queue is null && inFlight is null)
        {
            check.Fail(Field.QueueDepth, "a gauge event needs queue_depth or tasks_in_flight");
        }

        return new AgentEvent { QueueDepth = queue, TasksInFlight = inFlight };
    }

    /// <summary>Names, in the order they came, every field the event's type does not take.</summary>
    private static void RejectUnknown(ref Utf8JsonReader reader, EventShape shape, ref EventCheck check)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var known = FieldsByName.TryGet(Unescaped(ref reader), out var field);
            if (!known || (Bit(field) & (CommonMask | shape.Mask)) == 0)
            {
                check.Fail(ClientText.Clip(Text(ref reader)), $"is not a field of this event type; it takes {shape.FieldList} (and type, timestamp, attributes)");
            }

            reader.Read();
            reader.Skip();
        }
    }

    /// <summary>A string or property name as UTF-8 without escapes: as it stands in the body unless it holds any.</summary>
    private static ReadOnlySpan<byte> Unescaped(ref Utf8JsonReader reader) =>
        reader.ValueIsEscaped ? Encoding.UTF8.GetBytes(Text(ref reader)) : reader.ValueSpan;

    private static uint Bit(Field field) => 1u << (int)field;

    /// <summary>A string or property name as text; text that is not valid UTF-8 refuses the request.</summary>
    private static string Text(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw new UnreadableTextException(e.Message);
        }
    }

    /// <summary>Makes sure a string the parser does not decode now could be decoded later.</summary>
    private static void CheckText(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || !Utf8.IsValid(reader.ValueSpan))
        {
            Text(ref reader);
        }
    }

    /// <summary>Slots per event: one per field the API knows, and one unused for <see cref="Field.Unknown"/>.</summary>
    private const int FieldCount = (int)Field.Value + 1;

    /// <summary>The fields the events API knows; each has a bit in a mask.</summary>
    private enum Field
    {
        Unknown,
        Type,
        Timestamp,
        Attributes,
        DurationSeconds,
        Start,
        End,
        TaskType,
        Outcome,
        TokensIn,
        TokensOut,
        Cost,
        Model,
        Operation,
        Provider,
        TimeToFirstTokenSeconds,
        ErrorType,
        Tool,
        ToolType,
        TargetAgent,
        ContextPreserved,
        Reason,
        Satisfaction,
        Accuracy,
        QueueDepth,
        TasksInFlight,
        Metric,
        Value,
    }

    private static class FieldNames
    {
        private static readonly string[] Names =
        [
            "", "type", "timestamp", "attributes", "duration_seconds", "start", "end", "task_type", "outcome", "tokens_in",
            "tokens_out", "cost", "model", "operation", "provider", "time_to_first_token_seconds", "error_type", "tool",
            "tool_type", "target_agent", "context_preserved", "reason", "satisfaction", "accuracy", "queue_depth",
            "tasks_in_flight", "metric", "value",
        ];

        public static string Of(Field field) => Names[(int)field];
    }

    /// <summary>An event type: its name, the fields it takes (in the order error messages list them) and their mask.</summary>
    private sealed class EventShape
    {
        public EventShape(string name, EventType type, string[] fields)
        {
            Name = name;
            Type = type;
            FieldList = string.Join(", ", fields);
            HasDuration = fields.Contains("duration_seconds");
            foreach (var field in fields)
            {
                Mask |= Bit(FieldsByName(field));
            }
        }

        public string Name { get; }

        public EventType Type { get; }

        public string FieldList { get; }

        public bool HasDuration { get; }

        public uint Mask { get; }

        private static Field FieldsByName(string name) =>
            Enum.GetValues<Field>().First(f => FieldNames.Of(f) == name);
    }

    /// <summary>A string in the body that cannot be decoded (not UTF-8, or an unpaired surrogate escape).</summary>
    private sealed class UnreadableTextException(string message) : Exception(message);
}
