using System.Text;

namespace AgentMetrics.Sidecar.Tests;

/// <summary>Builds protobuf messages field by field, for OTLP requests in tests.</summary>
internal sealed class ProtoBuilder
{
    private readonly List<byte> _bytes = [];

    public byte[] ToArray() => [.. _bytes];

    public ProtoBuilder Message(int field, ProtoBuilder inner) => Bytes(field, inner.ToArray());

    public ProtoBuilder Message(int field, Action<ProtoBuilder> build)
    {
        var inner = new ProtoBuilder();
        build(inner);
        return Message(field, inner);
    }

    public ProtoBuilder String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoBuilder Bytes(int field, byte[] value)
    {
        Tag(field, 2);
        Varint((ulong)value.Length);
        _bytes.AddRange(value);
        return this;
    }

    public ProtoBuilder Varint(int field, ulong value)
    {
        Tag(field, 0);
        Varint(value);
        return this;
    }

    public ProtoBuilder SInt(int field, int value) => Varint(field, (ulong)(uint)((value << 1) ^ (value >> 31)));

    public ProtoBuilder Fixed64(int field, ulong value)
    {
        Tag(field, 1);
        _bytes.AddRange(BitConverter.GetBytes(value));
        return this;
    }

    public ProtoBuilder Double(int field, double value) => Fixed64(field, BitConverter.DoubleToUInt64Bits(value));

    public ProtoBuilder PackedFixed64(int field, IEnumerable<ulong> values) => Bytes(field, [.. values.SelectMany(BitConverter.GetBytes)]);

    public ProtoBuilder PackedDouble(int field, IEnumerable<double> values) => PackedFixed64(field, values.Select(BitConverter.DoubleToUInt64Bits));

    public ProtoBuilder PackedVarint(int field, IEnumerable<ulong> values)
    {
        var inner = new ProtoBuilder();
        foreach (var v in values)
        {
            inner.Varint(v);
        }

        return Bytes(field, inner.ToArray());
    }

    /// <summary>A KeyValue with a string AnyValue.</summary>
    public ProtoBuilder Attribute(int field, string key, string value) =>
        Message(field, kv => kv.String(1, key).Message(2, any => any.String(1, value)));

    private void Tag(int field, int wire) => Varint((ulong)((field << 3) | wire));

    private void Varint(ulong value)
    {
        while (value >= 0x80)
        {
            _bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        _bytes.Add((byte)value);
    }

    /// <summary>An ExportMetricsServiceRequest with one resource and one metric.</summary>
    public static byte[] MetricsRequest(string service, Action<ProtoBuilder> metric) =>
        new ProtoBuilder().Message(1, rm => rm
            .Message(1, r => r.Attribute(1, "service.name", service))
            .Message(2, sm => sm.Message(2, metric))).ToArray();

    /// <summary>A Sum metric (field 7) with one data point.</summary>
    public static Action<ProtoBuilder> Sum(string name, double value, ulong start, bool monotonic, int temporality, params (string Key, string Value)[] attributes) =>
        m => m.String(1, name).Message(7, sum => sum
            .Message(1, p =>
            {
                foreach (var (k, v) in attributes)
                {
                    p.Attribute(7, k, v);
                }

                p.Fixed64(2, start).Fixed64(3, start + 1000).Double(4, value);
            })
            .Varint(2, (ulong)temporality)
            .Varint(3, monotonic ? 1UL : 0UL));
}
