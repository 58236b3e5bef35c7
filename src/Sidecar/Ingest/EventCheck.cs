using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AgentMetrics.Sidecar.Ingest;

// How one event's fields are gathered and then checked, rule by rule.
public static partial class EventParser
{
    /// <summary>What one occurrence of a field held; a later occurrence of the same field replaces it.</summary>
    private struct Slot
    {
        /// <summary>The token; None when the field is absent.</summary>
        public JsonTokenType Kind;

        /// <summary>A number that parsed as the field needs it (a double, or a whole number for counts); attributes that are all scalars.</summary>
        public bool Parsed;

        /// <summary>Where the token starts in the body, and a number's length, for its raw text.</summary>
        public int Start;

        public int Length;

        public double Number;

        public long Whole;

        /// <summary>A string's text.</summary>
        public string? Text;
    }

    /// <summary>
    /// Gathers one event's fields, then checks them one by one, collecting errors under the event's path.
    /// The slots are shared by the events of a request: <see cref="Seen"/> says which hold this event's fields.
    /// </summary>
    private ref struct EventCheck(ReadOnlySpan<byte> body, Span<Slot> slots, string batch, int index, List<IngestError> errors)
    {
        private readonly ReadOnlySpan<byte> _body = body;
        private readonly Span<Slot> _slots = slots;
        private readonly int _errorsBefore = errors.Count;
        private string? _prefix;

        public readonly bool Failed => errors.Count > _errorsBefore;

        /// <summary>The fields present, one bit each.</summary>
        public uint Seen { get; private set; }

        /// <summary>The event's type, when its type field names one.</summary>
        public EventShape? Shape { get; private set; }

        /// <summary>Keeps the value the reader is on (it ends on the value's last token).</summary>
        public void Gather(ref Utf8JsonReader reader, Field field)
        {
            Seen |= Bit(field);
            ref var slot = ref _slots[(int)field];
            slot = default;
            slot.Kind = reader.TokenType;
            slot.Start = (int)reader.TokenStartIndex;
            switch (reader.TokenType)
            {
                case JsonTokenType.String when field == Field.Type:
                    Shape = TypesByName.TryGet(Unescaped(ref reader), out var shape) ? shape : null;
                    slot.Text = Shape?.Name ?? Text(ref reader);
                    break;
                case JsonTokenType.String when field == Field.Outcome:
                    slot.Text = Outcomes.TryGet(Unescaped(ref reader), out var outcome) ? outcome : Text(ref reader);
                    break;
                case JsonTokenType.String:
                    slot.Text = Text(ref reader);
                    break;
                case JsonTokenType.Number:
                    slot.Length = reader.ValueSpan.Length;
                    slot.Parsed = field is Field.TokensIn or Field.TokensOut ? reader.TryGetInt64(out slot.Whole) : reader.TryGetDouble(out slot.Number);
                    break;
                case JsonTokenType.StartObject when field == Field.Attributes:
                    slot.Parsed = ScalarsOnly(ref reader);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        public readonly string? TextOf(Field field) => SlotOf(field).Text;

        /// <summary>Where the attributes object starts within the event's object, or -1.</summary>
        public readonly int AttributesAt(int objectStart)
        {
            var slot = SlotOf(Field.Attributes);
            return slot.Kind == JsonTokenType.StartObject ? slot.Start - objectStart : -1;
        }

        public void Fail(Field field, string message) => Fail(FieldNames.Of(field), message);

        public void Fail(string field, string message)
        {
            _prefix ??= index < 0 ? "" : $"{batch}[{index}].";
            errors.Add(new(_prefix + field, message));
        }

        public string? String(Field field, bool required = false)
        {
            var slot = SlotOf(field);
            if (!Present(slot))
            {
                if (required)
                {
                    Fail(field, "is required");
                }

                return null;
            }

            if (slot.Kind != JsonTokenType.String)
            {
                Fail(field, $"must be a string, got {Describe(slot)}");
                return null;
            }

            if (required && slot.Text!.Length == 0)
            {
                Fail(field, "must not be empty");
                return null;
            }

            return slot.Text;
        }

        public string? OneOf(Field field, IReadOnlyList<string> allowed, bool required)
        {
            var text = String(field, required);
            if (text is null)
            {
                return null;
            }

            foreach (var value in allowed)
            {
                if (value == text)
                {
                    // The list's own instance: one string per outcome however many events name it.
                    return value;
                }
            }

            Fail(field, $"\"{ClientText.Clip(text)}\" is not allowed; use one of {string.Join(", ", allowed)}");
            return null;
        }

        public double? Number(Field field, double min = double.MinValue, double max = double.MaxValue, bool required = false)
        {
            var slot = SlotOf(field);
            if (!Present(slot))
            {
                if (required)
                {
                    Fail(field, "is required");
                }

                return null;
            }

            if (slot.Kind != JsonTokenType.Number)
            {
                Fail(field, $"must be a number, got {Describe(slot)}");
                return null;
            }

            var number = slot.Number;
            if (!slot.Parsed || !double.IsFinite(number))
            {
                Fail(field, $"{Raw(slot)} is out of range for a number");
                return null;
            }

            if (number < min || number > max)
            {
                Fail(field, max == double.MaxValue
                    ? $"must be at least {min.ToString(CultureInfo.InvariantCulture)}, got {number.ToString(CultureInfo.InvariantCulture)}"
                    : $"must be between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}, got {number.ToString(CultureInfo.InvariantCulture)}");
                return null;
            }

            return number;
        }

        public long? Count(Field field)
        {
            var slot = SlotOf(field);
            if (!Present(slot))
            {
                return null;
            }

            if (slot.Kind != JsonTokenType.Number || !slot.Parsed)
            {
                Fail(field, $"must be a whole number, got {Describe(slot)}");
                return null;
            }

            if (slot.Whole < 0)
            {
                Fail(field, $"must not be negative, got {slot.Whole}");
                return null;
            }

            return slot.Whole;
        }

        public bool? Boolean(Field field)
        {
            var slot = SlotOf(field);
            if (!Present(slot))
            {
                return null;
            }

            if (slot.Kind is not (JsonTokenType.True or JsonTokenType.False))
            {
                Fail(field, $"must be true or false, got {Describe(slot)}");
                return null;
            }

            return slot.Kind == JsonTokenType.True;
        }

        public DateTimeOffset? Timestamp(Field field)
        {
            var text = String(field);
            if (text is null)
            {
                return null;
            }

            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var time))
            {
                Fail(field, $"\"{ClientText.Clip(text)}\" is not an RFC 3339 time such as 2026-01-02T15:04:05.123Z");
                return null;
            }

            return time;
        }

        public double? Duration(bool required)
        {
            var seconds = Number(Field.DurationSeconds, min: 0);
            var start = Timestamp(Field.Start);
            var end = Timestamp(Field.End);
            if (seconds is not null)
            {
                if (start is not null || end is not null)
                {
                    Fail(Field.DurationSeconds, "give duration_seconds or start and end, not both");
                }

                return seconds;
            }

            if (start is not null && end is not null)
            {
                if (end < start)
                {
                    Fail(Field.End, "must not be before start");
                    return null;
                }

                return (end.Value - start.Value).TotalSeconds;
            }

            if (start is not null || end is not null)
            {
                Fail(start is null ? Field.Start : Field.End, "start and end go together");
            }
            else if (required && !Failed)
            {
                Fail(Field.DurationSeconds, "is required (or start and end)");
            }

            return null;
        }

        /// <summary>Checks the attributes object; only when one holds something other than scalars is it read again, to name each.</summary>
        public void Attributes()
        {
            var slot = SlotOf(Field.Attributes);
            if (!Present(slot))
            {
                return;
            }

            if (slot.Kind != JsonTokenType.StartObject)
            {
                Fail(Field.Attributes, $"must be an object of strings, numbers and booleans, got {Describe(slot)}");
                return;
            }

            if (slot.Parsed)
            {
                return;
            }

            var reader = new Utf8JsonReader(_body[slot.Start..], Options);
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = Text(ref reader);
                reader.Read();
                var fine = reader.TokenType switch
                {
                    JsonTokenType.String or JsonTokenType.True or JsonTokenType.False => true,
                    JsonTokenType.Number => reader.TryGetDouble(out var number) && double.IsFinite(number),
                    _ => false,
                };
                if (!fine)
                {
                    Fail($"attributes.{ClientText.Clip(name)}", $"must be a string, a finite number or a boolean, got {Describe(ref reader)}");
                }

                reader.Skip();
            }
        }

        private static bool Present(in Slot slot) => slot.Kind is not (JsonTokenType.None or JsonTokenType.Null);

        /// <summary>The field's slot, or an empty one when this event does not have the field.</summary>
        private readonly Slot SlotOf(Field field) => (Seen & Bit(field)) != 0 ? _slots[(int)field] : default;

        /// <summary>Whether every attribute is a string, a finite number or a boolean; checks their text can be decoded later.</summary>
        private static bool ScalarsOnly(ref Utf8JsonReader reader)
        {
            var scalars = true;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                CheckText(ref reader);
                reader.Read();
                switch (reader.TokenType)
                {
                    case JsonTokenType.String:
                        CheckText(ref reader);
                        break;
                    case JsonTokenType.Number:
                        scalars &= reader.TryGetDouble(out var number) && double.IsFinite(number);
                        break;
                    case JsonTokenType.True:
                    case JsonTokenType.False:
                        break;
                    default:
                        scalars = false;
                        reader.Skip();
                        break;
                }
            }

            return scalars;
        }

        private readonly string Raw(in Slot slot) => Encoding.UTF8.GetString(_body.Slice(slot.Start, slot.Length));

        private readonly string Describe(in Slot slot) => slot.Kind switch
        {
            JsonTokenType.StartObject => "an object",
            JsonTokenType.StartArray => "an array",
            JsonTokenType.String => $"the string \"{Clip(slot.Text!)}\"",
            JsonTokenType.Number => $"the number {Clip(Raw(slot))}",
            JsonTokenType.True => "the boolean true",
            JsonTokenType.False => "the boolean false",
            _ => "null",
        };

        private static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
        {
            JsonTokenType.StartObject => "an object",
            JsonTokenType.StartArray => "an array",
            JsonTokenType.String => $"the string \"{Clip(Text(ref reader))}\"",
            JsonTokenType.Number => $"the number {Clip(Encoding.UTF8.GetString(reader.ValueSpan))}",
            JsonTokenType.True => "the boolean true",
            JsonTokenType.False => "the boolean false",
            _ => "null",
        };

        private static string Clip(string text) => ClientText.Clip(text, 40);
    }
}
