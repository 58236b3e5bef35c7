using System.Globalization;
using System.Text;
using AgentMetrics.Sidecar.Tests;

namespace AgentMetrics.Sidecar.Bench;

/// <summary>The request bodies the load runs send, built once before the clock starts.</summary>
internal static class Bodies
{
    private const ulong Cumulative = 2;
    private const ulong Delta = 1;
    private static readonly string[] Outcomes = ["success", "failure", "timeout", "rework"];
    private static readonly string[] TaskTypes = ["triage", "refund", "search"];

    /// <summary>A JSON array of <paramref name="count"/> task events over 12 existing series.</summary>
    public static byte[] Events(int count)
    {
        var text = new StringBuilder("[");
        for (var i = 0; i < count; i++)
        {
            text.Append(i == 0 ? "" : ",").Append(CultureInfo.InvariantCulture,
                $$"""{"type":"task","outcome":"{{Outcomes[i % Outcomes.Length]}}","duration_seconds":{{0.05 + (i % 40) * 0.1:0.##}},"task_type":"{{TaskTypes[i % TaskTypes.Length]}}"}""");
        }

        return Encoding.UTF8.GetBytes(text.Append(']').ToString());
    }

    /// <summary>
    /// An OTLP request of <paramref name="metrics"/> monotonic sums × <paramref name="series"/> points, the
    /// <paramref name="round"/>-th of a stream (cumulative values grow by round; delta sends the increment).
    /// <paramref name="instance"/> tells the streams of concurrent senders apart (service.instance.id is not a label).
    /// </summary>
    public static byte[] Sums(string instance, int metrics, int series, int round, bool delta) =>
        Request(instance, 0, metrics, series, round, (b, m, r) => b.String(1, $"bench.load.m{m}").Message(7, sum =>
        {
            for (var j = 0; j < series; j++)
            {
                sum.Message(1, p => p.Attribute(7, "series", $"s{j}").Fixed64(2, 1).Fixed64(3, 2 + (ulong)r).Double(4, delta ? j + 1 : (double)(j + 1) * r));
            }

            sum.Varint(2, delta ? Delta : Cumulative).Varint(3, 1UL);
        }));

    /// <summary>
    /// Part of the 1000 × 10 set as OTLP, metrics <paramref name="first"/> to first+count-1: i%3==0 a
    /// cumulative 16-bucket histogram, i%3==1 a cumulative monotonic sum, i%3==2 a gauge; 10 points each.
    /// </summary>
    public static byte[] Set(string instance, int first, int count, int round) =>
        Request(instance, first, count, 10, round, (b, i, _) =>
        {
            b.String(1, $"bench.set.m{i}").String(2, $"Benchmark metric {i}.");
            switch (i % 3)
            {
                case 0:
                    b.Message(9, h =>
                    {
                        for (var j = 0; j < 10; j++)
                        {
                            var counts = new ulong[BenchSet.Buckets.Length + 1];
                            counts[j % counts.Length] = (ulong)round;
                            counts[^1] = (ulong)round;
                            h.Message(1, p => p.Attribute(9, "series", $"s{j}").Fixed64(2, 1).Fixed64(3, 2 + (ulong)round)
                                .Fixed64(4, 2 * (ulong)round).Double(5, round * (j + 1.5)).PackedFixed64(6, counts).PackedDouble(7, BenchSet.Buckets));
                        }

                        h.Varint(2, Cumulative);
                    });
                    break;
                case 1:
                    b.Message(7, sum =>
                    {
                        for (var j = 0; j < 10; j++)
                        {
                            sum.Message(1, p => p.Attribute(7, "series", $"s{j}").Fixed64(2, 1).Fixed64(3, 2 + (ulong)round).Double(4, (double)(j + 1) * round));
                        }

                        sum.Varint(2, Cumulative).Varint(3, 1UL);
                    });
                    break;
                default:
                    b.Message(5, gauge =>
                    {
                        for (var j = 0; j < 10; j++)
                        {
                            gauge.Message(1, p => p.Attribute(7, "series", $"s{j}").Fixed64(3, 2 + (ulong)round).Double(4, (j * 1.5) + round));
                        }
                    });
                    break;
            }
        });

    private static byte[] Request(string instance, int first, int metrics, int series, int round, Action<ProtoBuilder, int, int> metric) =>
        new ProtoBuilder().Message(1, rm => rm
            .Message(1, r => r.Attribute(1, "service.name", "bench").Attribute(1, "service.instance.id", instance))
            .Message(2, sm =>
            {
                sm.Message(1, scope => scope.String(1, "bench"));
                for (var m = first; m < first + metrics; m++)
                {
                    sm.Message(2, b => metric(b, m, round));
                }
            })).ToArray();
}
