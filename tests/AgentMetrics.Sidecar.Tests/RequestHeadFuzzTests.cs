using System.Text;
using AgentMetrics.Sidecar.Http;
using Xunit;
using HttpProtocolException = AgentMetrics.Sidecar.Http.HttpProtocolException;

namespace AgentMetrics.Sidecar.Tests;

/// <summary>
/// Seeded fuzzing of the request-head parser on its own, with no socket: generated heads parse back to
/// what was written, and mutated ones are refused only with <see cref="HttpProtocolException"/> and a
/// status the server answers with. Every input is parsed from the middle of a larger buffer full of
/// other bytes, so a parser that read past its head would parse differently than from an exact copy.
/// </summary>
public class RequestHeadFuzzTests
{
    private const int Iterations = 20_000;
    private const int MaxHeaders = 100;

    private static readonly int[] Statuses = [400, 417, 431, 501, 505];

    [Fact]
    public void Generated_heads_parse_back_to_what_was_written()
    {
        var random = new Random(20261207);
        for (var i = 0; i < Iterations / 4; i++)
        {
            var expected = Generate(random);

            var head = Parse(random, Encoding.Latin1.GetBytes(expected.Text));

            Assert.Equal(expected.Method, head.Method);
            Assert.Equal(expected.Path, head.Path);
            Assert.Equal(expected.Http10, head.Http10);
            Assert.Equal(expected.ContentLength, head.Headers.ContentLength);
            Assert.Equal(expected.Chunked, head.Headers.Chunked);
            Assert.Equal(expected.ContentType, head.Headers.ContentType);
            Assert.Equal(expected.Accept, head.Headers.Accept);
            Assert.Equal(expected.KeepAlive, head.KeepAlive);
            Assert.Equal(expected.ExpectsContinue, head.ExpectsContinue);
        }
    }

    [Fact]
    public void Mutated_heads_are_refused_only_with_a_protocol_error_and_never_read_past_the_head()
    {
        var random = new Random(7);
        var accepted = 0;
        var refused = 0;
        for (var i = 0; i < Iterations; i++)
        {
            var input = Mutate(random, Encoding.Latin1.GetBytes(Generate(random).Text));
            try
            {
                var head = Parse(random, input);
                var again = RequestHeadParser.Parse(input, MaxHeaders);
                Assert.Equal(Describe(again), Describe(head));
                accepted++;
            }
            catch (HttpProtocolException e)
            {
                Assert.Contains(e.Status, Statuses);
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
                refused++;
            }
        }

        // Both sides are reached: some mutations keep a head valid, most break it.
        Assert.InRange(accepted, 1, Iterations - 1);
        Assert.InRange(refused, 1, Iterations - 1);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n", 400)]
    [InlineData("\r\n\r\n", 400)]
    [InlineData("GET / HTTP/2.0\r\n\r\n", 505)]
    [InlineData("GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501)]
    [InlineData("POST / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 417)]
    [InlineData("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400)]
    [InlineData("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\n folded: x\r\n\r\n", 400)]
    public void Heads_that_break_a_rule_are_refused_with_its_status(string text, int status)
    {
        var e = Assert.Throws<HttpProtocolException>(() => RequestHeadParser.Parse(Encoding.Latin1.GetBytes(text), MaxHeaders));

        Assert.Equal(status, e.Status);
    }

    [Fact]
    public void More_header_fields_than_allowed_are_refused_with_431()
    {
        var text = new StringBuilder("GET / HTTP/1.1\r\n");
        for (var i = 0; i <= MaxHeaders; i++)
        {
            text.Append("X-").Append(i).Append(": v\r\n");
        }

        var e = Assert.Throws<HttpProtocolException>(() => RequestHeadParser.Parse(Encoding.Latin1.GetBytes(text.Append("\r\n").ToString()), MaxHeaders));

        Assert.Equal(431, e.Status);
    }

    /// <summary>Parses <paramref name="input"/> from the middle of a larger buffer whose other bytes are random, some of them CRLFs.</summary>
    private static RequestHead Parse(Random random, byte[] input)
    {
        var before = random.Next(0, 64);
        var room = new byte[before + input.Length + random.Next(0, 64)];
        random.NextBytes(room);
        for (var i = 0; i + 1 < room.Length; i += random.Next(2, 16))
        {
            room[i] = (byte)'\r';
            room[i + 1] = (byte)'\n';
        }

        input.CopyTo(room, before);
        return RequestHeadParser.Parse(room.AsSpan(before, input.Length), MaxHeaders);
    }

    private static string Describe(RequestHead head) =>
        $"{head.Method} {head.Path} {head.Http10} {head.KeepAlive} {head.ExpectsContinue} {head.Headers.ContentLength} {head.Headers.Chunked} "
        + $"{head.Headers.ContentType}|{head.Headers.ContentEncoding}|{head.Headers.Accept}";

    /// <summary>A valid head, and what parsing it must give.</summary>
    private sealed record Expected(
        string Text, string Method, string Path, bool Http10, long? ContentLength, bool Chunked, string? ContentType, string? Accept, bool KeepAlive, bool ExpectsContinue);

    private static Expected Generate(Random random)
    {
        string[] methods = ["GET", "POST", "HEAD", "PUT", "M-SEARCH", "x"];
        var method = methods[random.Next(methods.Length)];
        var path = "/" + Token(random, 0, 20).Replace("#", "", StringComparison.Ordinal).Replace("?", "", StringComparison.Ordinal);
        var target = path + (random.Next(3) == 0 ? "?" + Token(random, 0, 20) : "");
        if (random.Next(8) == 0)
        {
            target = "http://host.example:8080" + target;
        }

        var http10 = random.Next(4) == 0;
        var text = new StringBuilder().Append(method).Append(' ').Append(target).Append(http10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
        long? contentLength = null;
        var chunked = false;
        string? contentType = null;
        string? accept = null;
        bool close = false, keepAlive = false, expect = false;
        for (var i = random.Next(0, 12); i > 0; i--)
        {
            string name, value;
            switch (random.Next(8))
            {
                case 0 when !chunked:
                    contentLength ??= random.NextInt64(0, 1L << 40);
                    (name, value) = ("Content-Length", contentLength.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    break;
                case 1 when contentLength is null && !chunked && !http10:
                    chunked = true;
                    (name, value) = ("transfer-encoding", "Chunked");
                    break;
                case 2:
                    contentType = Visible(random, 1, 30);
                    (name, value) = ("Content-Type", contentType);
                    break;
                case 3:
                    var one = Visible(random, 1, 20);
                    accept = accept is null ? one : accept + ", " + one;
                    (name, value) = ("ACCEPT", one);
                    break;
                case 4:
                    var option = random.Next(3) switch { 0 => "close", 1 => "keep-alive", _ => "upgrade" };
                    close |= option == "close";
                    keepAlive |= option == "keep-alive";
                    (name, value) = ("Connection", option);
                    break;
                case 5:
                    expect = true;
                    (name, value) = ("Expect", "100-continue");
                    break;
                default:
                    (name, value) = ("X-" + Token(random, 1, 12), Visible(random, 0, 40));
                    break;
            }

            text.Append(name).Append(':').Append(random.Next(2) == 0 ? " " : "\t ").Append(value).Append(random.Next(3) == 0 ? " \t" : "").Append("\r\n");
        }

        return new(
            text.Append("\r\n").ToString(), method, path, http10, contentLength, chunked, contentType, accept,
            http10 ? keepAlive && !close : !close, expect && !http10);
    }

    private static string Token(Random random, int min, int max)
    {
        const string Chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!$%&'*+-.^_`|~";
        return new string([.. Enumerable.Range(0, random.Next(min, max + 1)).Select(_ => Chars[random.Next(Chars.Length)])]);
    }

    /// <summary>Visible ASCII with single inner spaces; no leading or trailing space, which the parser trims.</summary>
    private static string Visible(Random random, int min, int max)
    {
        var chars = Enumerable.Range(0, random.Next(min, max + 1)).Select(_ => (char)random.Next(0x21, 0x7F)).ToArray();
        for (var i = 1; i + 1 < chars.Length; i += random.Next(3, 9))
        {
            chars[i] = ' ';
        }

        return new string(chars);
    }

    private static byte[] Mutate(Random random, byte[] seed)
    {
        var bytes = seed.ToList();
        switch (random.Next(6))
        {
            case 0:
                // Cut short, wherever.
                return [.. bytes.Take(random.Next(bytes.Count))];
            case 1:
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    bytes[random.Next(bytes.Count)] = (byte)random.Next(256);
                }

                return [.. bytes];
            case 2:
                // Bytes the grammar gives meaning to, anywhere.
                byte[] special = [(byte)'\r', (byte)'\n', 0, (byte)' ', (byte)'\t', (byte)':', (byte)',', (byte)'?', 0x7F, 0xFF];
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    bytes.Insert(random.Next(bytes.Count + 1), special[random.Next(special.Length)]);
                }

                return [.. bytes];
            case 3:
                var at = random.Next(bytes.Count);
                bytes.RemoveRange(at, random.Next(1, Math.Min(8, bytes.Count - at) + 1));
                return [.. bytes];
            case 4:
                // A header line that breaks a rule, before the empty line.
                string[] lines = ["Content-Length: -1", "Content-Length: 99999999999999999999", "Content-Length: 1\r\nTransfer-Encoding: chunked", "Transfer-Encoding: gzip", "Expect: nothing", " folded", "no colon", ": no name", "Bad Name: x", "X: a\0b"];
                var line = Encoding.Latin1.GetBytes(lines[random.Next(lines.Length)] + "\r\n");
                bytes.InsertRange(bytes.Count - 2, line);
                return [.. bytes];
            default:
                var noise = new byte[random.Next(1, 64)];
                random.NextBytes(noise);
                return random.Next(2) == 0 ? noise : [.. noise, .. "\r\n\r\n"u8.ToArray()];
        }
    }
}
