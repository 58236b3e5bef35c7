using System.Text;
using AgentMetrics.Sidecar.Ingest;
using AgentMetrics.Sidecar.Otlp;
using Xunit;

namespace AgentMetrics.Sidecar.Tests;

/// <summary>
/// Seeded fuzzing of every parser: valid requests cut short, bytes flipped, numbers replaced by huge,
/// negative and non-finite ones, and deep nesting. A parser may refuse input only with its own
/// error type and a message, and whatever it accepts must record without throwing.
/// </summary>
public class FuzzTests
{
    private const int Iterations = 20_000;

    private static readonly string[] ValidEvents =
    [
        """{"type":"task","task_type":"triage","outcome":"success","duration_seconds":1.5,"tokens_in":10,"tokens_out":5,"cost":0.01,"model":"m","attributes":{"a":"b","n":3,"t":true}}""",
        """[{"type":"llm_call","provider":"p","model":"m","duration_seconds":0.4,"time_to_first_token_seconds":0.1,"tokens_in":1,"error_type":"e"},{"type":"gauge","queue_depth":3}]""",
        """{"events":[{"type":"handoff","target_agent":"x","outcome":"success","context_preserved":true},{"type":"feedback","satisfaction":0.5}]}""",
        """{"type":"tool_call","tool":"t","start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:00:01Z"}""",
    ];

    private static readonly string[] NumberTokens = ["1e308", "-1e308", "1e999", "-0", "NaN", "Infinity", "-1", "99999999999999999999999", "0.0000001", "\"1\"", "null", "[]", "{}"];

    [Fact]
    public void Json_events_parser_never_throws_and_never_half_accepts()
    {
        var random = new Random(20261121);
        var t = new TestRegistry();
        for (var i = 0; i < Iterations; i++)
        {
            var input = Mutate(random, ValidEvents[random.Next(ValidEvents.Length)]);
            var errors = new List<IngestError>();
            var events = EventParser.Parse(Encoding.UTF8.GetBytes(input), errors);

            if (errors.Count > 0)
            {
                Assert.Empty(events);
                Assert.All(errors, e => Assert.False(string.IsNullOrEmpty(e.Field) || string.IsNullOrEmpty(e.Message), input));
            }
            else
            {
                Assert.NotEmpty(events);
                events.ForEach(t.Recorder.Record);
            }
        }
    }

    [Fact]
    public void Deep_nesting_is_refused_not_recursed_into()
    {
        var deep = new string('[', 100_000) + new string(']', 100_000);
        var errors = new List<IngestError>();

        EventParser.Parse(Encoding.UTF8.GetBytes(deep), errors);

        Assert.Contains("depth", Assert.Single(errors).Message, StringComparison.Ordinal);
        Assert.Throws<OtlpJsonException>(() => OtlpJsonDecoder.DecodeMetrics(Encoding.UTF8.GetBytes(deep)));
    }

    [Fact]
    public void Protobuf_decoders_refuse_garbage_only_with_a_proto_error()
    {
        var seeds = new[] { MetricsSeed(), TracesSeed() };
        var random = new Random(7);
        var accepted = 0;
        var t = new TestRegistry();
        for (var i = 0; i < Iterations; i++)
        {
            var seed = seeds[i % 2];
            var input = MutateBytes(random, seed);
            try
            {
                if (i % 2 == 0)
                {
                    t.Otlp.Record(OtlpProtobufDecoder.DecodeMetrics(input));
                }
                else
                {
                    foreach (var resource in OtlpProtobufDecoder.DecodeTraces(input))
                    {
                        resource.Spans.ForEach(s => t.Recorder.Record(s, resource.Resource));
                    }
                }

                accepted++;
            }
            catch (ProtoException e)
            {
                Assert.False(string.IsNullOrEmpty(e.Message));
            }
        }

        // Mutations that only touch values still decode: the fuzzer reaches the recorders too.
        Assert.InRange(accepted, 1, Iterations - 1);
    }

    [Fact]
    public void Otlp_json_decoder_refuses_garbage_only_with_its_own_error()
    {
        const string Seed = """{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeMetrics":[{"metrics":[{"name":"a.b","unit":"s","histogram":{"aggregationTemporality":2,"dataPoints":[{"count":"3","sum":1.5,"bucketCounts":["1","2"],"explicitBounds":[1],"startTimeUnixNano":"1","timeUnixNano":"2"}]}},{"name":"c","gauge":{"dataPoints":[{"asDouble":2.5}]}},{"name":"e","exponentialHistogram":{"aggregationTemporality":1,"dataPoints":[{"count":"2","scale":3,"zeroCount":"1","positive":{"offset":-2,"bucketCounts":["1"]}}]}}]}]}]}""";
        var random = new Random(11);
        var t = new TestRegistry();
        for (var i = 0; i < Iterations; i++)
        {
            var input = Mutate(random, Seed);
            try
            {
                t.Otlp.Record(OtlpJsonDecoder.DecodeMetrics(Encoding.UTF8.GetBytes(input)));
            }
            catch (OtlpJsonException e)
            {
                Assert.False(string.IsNullOrEmpty(e.Path));
            }
        }
    }

    [Fact]
    public void Property_every_valid_task_is_counted_once_whatever_the_batching()
    {
        var random = new Random(3);
        for (var round = 0; round < 200; round++)
        {
            var t = new TestRegistry();
            var total = 0;
            var expected = new Dictionary<string, int>();
            while (total < 300)
            {
                var size = random.Next(1, 40);
                var batch = new StringBuilder("[");
                for (var i = 0; i < size; i++)
                {
                    var outcome = Api.Catalog.BuiltInMetrics.TaskOutcomes[random.Next(6)];
                    expected[outcome] = expected.GetValueOrDefault(outcome) + 1;
                    batch.Append(i == 0 ? "" : ",").Append($$"""{"type":"task","outcome":"{{outcome}}","duration_seconds":{{random.NextDouble() * 100}}}""");
                }

                Assert.Empty(t.Post(batch.Append(']').ToString()));
                total += size;
            }

            foreach (var (outcome, count) in expected)
            {
                Assert.Equal(count, t.Series("agent_tasks", "outcome", outcome).Value);
                Assert.Equal(count, t.Series("agent_task_duration_seconds", "outcome", outcome).Count);
            }
        }
    }

    private static string Mutate(Random random, string seed)
    {
        var text = new StringBuilder(seed);
        switch (random.Next(6))
        {
            case 0:
                return seed[..random.Next(seed.Length)];
            case 1:
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    text[random.Next(text.Length)] = (char)random.Next(32, 127);
                }

                return text.ToString();
            case 2:
                var digits = System.Text.RegularExpressions.Regex.Matches(seed, "-?[0-9][0-9.e+-]*");
                if (digits.Count == 0)
                {
                    return seed;
                }

                var match = digits[random.Next(digits.Count)];
                return string.Concat(seed.AsSpan(0, match.Index), NumberTokens[random.Next(NumberTokens.Length)], seed.AsSpan(match.Index + match.Length));
            case 3:
                var at = random.Next(seed.Length);
                return seed[..at] + new string('[', random.Next(1, 64)) + seed[at..];
            case 4:
                return seed.Replace("\"", random.Next(2) == 0 ? "'" : "\\\"", StringComparison.Ordinal);
            default:
                var position = random.Next(seed.Length);
                return seed[..position] + "\"\\u0000\uD800😀\"" + seed[position..];
        }
    }

    private static byte[] MutateBytes(Random random, byte[] seed)
    {
        var bytes = (byte[])seed.Clone();
        switch (random.Next(4))
        {
            case 0:
                return bytes[..random.Next(bytes.Length)];
            case 1:
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }

                return bytes;
            case 2:
                var noise = new byte[random.Next(1, 64)];
                random.NextBytes(noise);
                return noise;
            default:
                // Flip one bit of a value byte near the end, where doubles and counts live.
                bytes[bytes.Length - 1 - random.Next(Math.Min(16, bytes.Length))] ^= (byte)(1 << random.Next(8));
                return bytes;
        }
    }

    private static byte[] MetricsSeed() => new ProtoBuilder().Message(1, rm => rm
        .Message(1, r => r.Attribute(1, "service.name", "svc"))
        .Message(2, sm => sm
            .Message(2, ProtoBuilder.Sum("jobs", 5, 1, true, 2, ("k", "v")))
            .Message(2, m => m.String(1, "h").Message(9, h => h.Message(1, p => p.Fixed64(4, 3).Double(5, 2).PackedFixed64(6, [1, 1, 1]).PackedDouble(7, [1, 2])).Varint(2, 1)))
            .Message(2, m => m.String(1, "e").Message(10, h => h.Message(1, p => p.Fixed64(4, 2).SInt(6, 2).Message(8, b => b.SInt(1, -3).PackedVarint(2, [1, 1]))).Varint(2, 2)))
            .Message(2, m => m.String(1, "g").Message(5, g => g.Message(1, p => p.Double(4, double.NaN)))))).ToArray();

    private static byte[] TracesSeed() => new ProtoBuilder().Message(1, rs => rs
        .Message(1, r => r.Attribute(1, "service.name", "svc"))
        .Message(2, ss => ss.Message(2, s => s.String(5, "chat m").Fixed64(7, 1).Fixed64(8, 1_000_000)
            .Attribute(9, "gen_ai.operation.name", "chat")
            .Message(9, kv => kv.String(1, "gen_ai.usage.input_tokens").Message(2, a => a.Varint(3, 10)))
            .Message(9, kv => kv.String(1, "list").Message(2, a => a.Message(5, arr => arr.Message(1, v => v.String(1, "x")).Message(1, v => v.Double(4, 1.5)))))
            .Message(15, st => st.Varint(3, 2))))).ToArray();
}
