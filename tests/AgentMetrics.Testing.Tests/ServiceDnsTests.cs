using System.Buffers.Binary;
using System.Net;
using System.Text;
using Xunit;

namespace AgentMetrics.Testing.Tests;

/// <summary>The local node's cluster DNS answers Service names with their ready endpoints, and nothing else.</summary>
public sealed class ServiceDnsTests
{
    public static TheoryData<string, ushort, int, string[]> Cases => new()
    {
        // name, query type, response code, addresses answered
        { "agent-metrics-operator.agent-metrics-system.svc.cluster.local", 1, 0, ["10.244.7.3", "10.244.7.4"] },
        { "AGENT-METRICS-OPERATOR.agent-metrics-system.svc.cluster.local", 1, 0, ["10.244.7.3", "10.244.7.4"] },
        { "agent-metrics-operator.agent-metrics-system.svc.cluster.local", 28, 0, [] },
        { "idle.agent-metrics-system.svc.cluster.local", 1, 0, [] },
        { "missing.agent-metrics-system.svc.cluster.local", 1, 3, [] },
        { "agent-metrics-operator.agent-metrics-system.svc.agents.svc.cluster.local", 1, 3, [] },
        { "example.com", 1, 3, [] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AQueryIsAnsweredFromTheServicesEndpoints(string name, ushort type, int code, string[] addresses)
    {
        var query = Query(0x1234, name, type);
        var answer = await ServiceDns.AnswerAsync(query, (ns, service) => Task.FromResult<IReadOnlyList<IPAddress>?>(
            (ns, service) switch
            {
                ("agent-metrics-system", "agent-metrics-operator") => [IPAddress.Parse("10.244.7.3"), IPAddress.Parse("10.244.7.4")],
                ("agent-metrics-system", "idle") => [],
                _ => null,
            }));

        Assert.NotNull(answer);
        Assert.Equal(0x1234, BinaryPrimitives.ReadUInt16BigEndian(answer));
        Assert.Equal(0x80, answer[2] & 0x80);
        Assert.Equal(0x01, answer[2] & 0x01);
        Assert.Equal(code, answer[3] & 0x0F);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(answer.AsSpan(4)));
        Assert.Equal(addresses.Length, BinaryPrimitives.ReadUInt16BigEndian(answer.AsSpan(6)));
        var records = answer.AsSpan(query.Length);
        var answered = new List<string>();
        for (var i = 0; i < addresses.Length; i++)
        {
            var record = records.Slice(i * 16, 16);
            Assert.Equal(0xC00C, BinaryPrimitives.ReadUInt16BigEndian(record));
            Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(record[2..]));
            answered.Add(new IPAddress(record[12..16]).ToString());
        }

        Assert.Equal(addresses, answered);
        Assert.Equal(query.Length + (addresses.Length * 16), answer.Length);
    }

    [Fact]
    public async Task WhatIsNoQueryGetsNoAnswer()
    {
        var response = Query(1, "a.b.svc.cluster.local", 1);
        response[2] |= 0x80;
        Assert.Null(await ServiceDns.AnswerAsync(response, (_, _) => throw new InvalidOperationException("not asked")));
        Assert.Null(await ServiceDns.AnswerAsync([1, 2, 3], (_, _) => throw new InvalidOperationException("not asked")));
    }

    /// <summary>A query as a stub resolver sends it: recursion desired, one question, class IN.</summary>
    private static byte[] Query(ushort id, string name, ushort type)
    {
        var bytes = new List<byte>();
        bytes.AddRange([(byte)(id >> 8), (byte)id, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        foreach (var label in name.Split('.'))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(Encoding.ASCII.GetBytes(label));
        }

        bytes.AddRange([0, (byte)(type >> 8), (byte)type, 0, 1]);
        return [.. bytes];
    }
}
