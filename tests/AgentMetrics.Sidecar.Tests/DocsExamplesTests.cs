using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentMetrics.Sidecar.Ingest;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Sidecar.Tests;

/// <summary>
/// docs/sidecar.md and docs/schemas/events-v1.schema.json say what the events API does: every curl
/// example parses (or, in a block after <c>&lt;!-- invalid --&gt;</c>, is refused), and the schema
/// names the parser's event types and fields.
/// </summary>
public partial class DocsExamplesTests
{
    private const string InvalidMarker = "<!-- invalid -->";

    private static readonly string[] EventTypes = ["task", "llm_call", "tool_call", "handoff", "escalation", "feedback", "gauge", "error", "observation"];

    private static readonly string[] CommonFields = ["type", "timestamp", "attributes"];

    [Fact]
    public void Every_events_example_in_the_sidecar_doc_parses_unless_marked_invalid()
    {
        var examples = Examples();
        var shown = new HashSet<string>(StringComparer.Ordinal);

        foreach (var example in examples)
        {
            var errors = new List<IngestError>();
            var events = EventParser.Parse(Encoding.UTF8.GetBytes(example.Body), errors);

            if (example.Invalid)
            {
                if (errors.Count == 0)
                {
                    Assert.Fail($"docs/sidecar.md line {example.Line} is marked invalid but parses: {example.Body}");
                }

                Assert.Empty(events);
                Assert.All(errors, e => Assert.False(string.IsNullOrEmpty(e.Field) || string.IsNullOrEmpty(e.Message), example.Body));
            }
            else
            {
                if (errors.Count > 0)
                {
                    Assert.Fail($"docs/sidecar.md line {example.Line} does not parse: {string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}"))}\n{example.Body}");
                }

                shown.UnionWith(events.Select(e => e.TypeName));
            }
        }

        Assert.Contains(examples, e => e.Invalid);
        Assert.Equal(EventTypes.Order(StringComparer.Ordinal).ToArray(), shown.Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public void The_event_types_listed_here_are_the_parsers()
    {
        var errors = new List<IngestError>();

        EventParser.Parse(Encoding.UTF8.GetBytes("""{"type":"teleport"}"""), errors);

        Assert.Equal(EventTypes.Order(StringComparer.Ordinal).ToArray(), ListAfter(Assert.Single(errors).Message, "use one of ", null));
    }

    [Fact]
    public void The_events_schema_is_json_and_names_every_event_type_with_the_parsers_fields()
    {
        using var schema = JsonDocument.Parse(File.ReadAllText(RepoPaths.Combine("docs", "schemas", "events-v1.schema.json")));
        var root = schema.RootElement;
        Assert.Equal("https://json-schema.org/draft/2020-12/schema", root.GetProperty("$schema").GetString());
        var definitions = root.GetProperty("$defs");
        Assert.Equal(EventParser.MaxEventsPerRequest, definitions.GetProperty("eventArray").GetProperty("maxItems").GetInt32());

        var named = definitions.GetProperty("event").GetProperty("properties").GetProperty("type").GetProperty("enum")
            .EnumerateArray().Select(e => e.GetString()!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(EventTypes.Order(StringComparer.Ordinal).ToArray(), named);

        foreach (var type in EventTypes)
        {
            var definition = definitions.GetProperty(type);
            Assert.False(definition.GetProperty("additionalProperties").GetBoolean(), type);
            var properties = definition.GetProperty("properties");
            Assert.Equal(type, properties.GetProperty("type").GetProperty("const").GetString());

            // The parser names the fields a type takes when it refuses one it does not.
            var errors = new List<IngestError>();
            EventParser.Parse(Encoding.UTF8.GetBytes($$"""{"type":"{{type}}","not_a_field":null}"""), errors);
            var refusal = Assert.Single(errors, e => e.Field == "not_a_field").Message;
            var takes = ListAfter(refusal, "it takes ", " (and ").Concat(CommonFields).Order(StringComparer.Ordinal).ToArray();

            Assert.Equal(takes, properties.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray());
        }
    }

    /// <summary>Every <c>-d '...'</c> body on a line that posts to /v1/events, and whether its code block is marked invalid.</summary>
    private static List<Example> Examples()
    {
        var lines = File.ReadAllLines(RepoPaths.Combine("docs", "sidecar.md"));
        var examples = new List<Example>();
        var marked = false;
        var inBlock = false;
        var blockInvalid = false;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inBlock = !inBlock;
                blockInvalid = inBlock && marked;
                marked = false;
                continue;
            }

            if (!inBlock && line.Contains(InvalidMarker, StringComparison.Ordinal))
            {
                marked = true;
                continue;
            }

            var at = line.IndexOf("/v1/events", StringComparison.Ordinal);
            if (at < 0)
            {
                continue;
            }

            for (var match = DataArgument().Match(line, at); match.Success; match = match.NextMatch())
            {
                examples.Add(new Example(i + 1, match.Groups[1].Value, inBlock && blockInvalid));
            }
        }

        Assert.NotEmpty(examples);
        return examples;
    }

    /// <summary>The comma-separated list in <paramref name="message"/> after <paramref name="start"/>, up to <paramref name="end"/> or the end.</summary>
    private static string[] ListAfter(string message, string start, string? end)
    {
        var from = message.IndexOf(start, StringComparison.Ordinal);
        Assert.True(from >= 0, message);
        from += start.Length;
        var to = end is null ? message.Length : message.IndexOf(end, from, StringComparison.Ordinal);
        Assert.True(to >= from, message);
        return [.. message[from..to].Split(", ").Order(StringComparer.Ordinal)];
    }

    [GeneratedRegex("-d '([^']*)'")]
    private static partial Regex DataArgument();

    private sealed record Example(int Line, string Body, bool Invalid);
}
