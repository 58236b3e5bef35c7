using System.Globalization;
using System.Text;

namespace AgentMetrics.Sidecar.Http;

/// <summary>A parsed request head: method, path without its query, HTTP version, and the headers the server acts on.</summary>
internal sealed record RequestHead(string Method, string Path, bool Http10, RequestHeaders Headers)
{
    /// <summary>Whether the connection stays open after the answer: HTTP/1.1 unless Connection: close, HTTP/1.0 only with keep-alive.</summary>
    public bool KeepAlive => Http10 ? Headers.KeepAlive && !Headers.Close : !Headers.Close;

    /// <summary>Whether the client waits for <c>100 Continue</c> before it sends the body (HTTP/1.1 only).</summary>
    public bool ExpectsContinue => Headers.ExpectContinue && !Http10;
}

/// <summary>
/// Parses a request head (request line, header fields, the empty line) from bytes, with no I/O: the
/// connection finds where a head ends and hands it over whole. Input that breaks HTTP/1.1's rules is
/// refused with <see cref="HttpProtocolException"/>, naming the rule and the status to answer with,
/// and with nothing else; only the bytes of <c>head</c> are read.
/// </summary>
internal static class RequestHeadParser
{
    /// <summary>Parses <paramref name="head"/>, which ends with the empty line; at most <paramref name="maxHeaders"/> header fields.</summary>
    public static RequestHead Parse(ReadOnlySpan<byte> head, int maxHeaders)
    {
        if (!head.EndsWith("\r\n\r\n"u8))
        {
            throw new HttpProtocolException(400, "a request head must end with an empty line");
        }

        var lineEnd = head.IndexOf("\r\n"u8);
        var requestLine = head[..lineEnd];
        var firstSpace = requestLine.IndexOf((byte)' ');
        var lastSpace = requestLine.LastIndexOf((byte)' ');
        if (firstSpace <= 0 || lastSpace <= firstSpace + 1)
        {
            throw new HttpProtocolException(400, "the request line must be METHOD SP target SP HTTP-version");
        }

        var method = Method(requestLine[..firstSpace]);
        var target = requestLine[(firstSpace + 1)..lastSpace];
        var version = requestLine[(lastSpace + 1)..];
        bool http10;
        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            http10 = false;
        }
        else if (version.SequenceEqual("HTTP/1.0"u8))
        {
            http10 = true;
        }
        else if (version.StartsWith("HTTP/"u8))
        {
            throw new HttpProtocolException(505, "only HTTP/1.1 and HTTP/1.0 are served");
        }
        else
        {
            throw new HttpProtocolException(400, "the request line must end with the HTTP version");
        }

        var path = Path(target);
        var headers = new RequestHeaders();
        var rest = head[(lineEnd + 2)..^2];
        var count = 0;
        while (rest.Length > 0)
        {
            var end = rest.IndexOf("\r\n"u8);
            var line = rest[..end];
            rest = rest[(end + 2)..];
            if (++count > maxHeaders)
            {
                throw new HttpProtocolException(431, $"more than {maxHeaders} header fields");
            }

            Header(line, headers);
        }

        if (headers.Chunked && headers.ContentLength is not null)
        {
            throw new HttpProtocolException(400, "a request must not have both Transfer-Encoding and Content-Length");
        }

        if (headers.Chunked && http10)
        {
            throw new HttpProtocolException(400, "HTTP/1.0 has no chunked transfer coding");
        }

        return new RequestHead(method, path, http10, headers);
    }

    private static string Method(ReadOnlySpan<byte> method)
    {
        if (method.SequenceEqual("GET"u8))
        {
            return "GET";
        }

        if (method.SequenceEqual("POST"u8))
        {
            return "POST";
        }

        if (method.SequenceEqual("HEAD"u8))
        {
            return "HEAD";
        }

        foreach (var b in method)
        {
            if (!IsTokenChar(b))
            {
                throw new HttpProtocolException(400, "the method must be a token");
            }
        }

        return Encoding.ASCII.GetString(method);
    }

    private static string Path(ReadOnlySpan<byte> target)
    {
        foreach (var b in target)
        {
            if (b <= 0x20 || b >= 0x7F)
            {
                throw new HttpProtocolException(400, "the request target must be visible ASCII without spaces");
            }
        }

        // absolute-form (http://host/path) names the same resource as its path.
        if (target.StartsWith("http://"u8) || target.StartsWith("https://"u8))
        {
            var afterScheme = target[(target.IndexOf("//"u8) + 2)..];
            var slash = afterScheme.IndexOfAny((byte)'/', (byte)'?');
            target = slash < 0 ? "/"u8 : afterScheme[slash] == (byte)'?' ? "/"u8 : afterScheme[slash..];
        }

        var query = target.IndexOfAny((byte)'?', (byte)'#');
        if (query >= 0)
        {
            target = target[..query];
        }

        return target.SequenceEqual("/metrics"u8) ? "/metrics" : Encoding.ASCII.GetString(target);
    }

    private static void Header(ReadOnlySpan<byte> line, RequestHeaders headers)
    {
        if (line.Length > 0 && (line[0] == (byte)' ' || line[0] == (byte)'\t'))
        {
            throw new HttpProtocolException(400, "folded header lines (obs-fold) are not accepted");
        }

        var colon = line.IndexOf((byte)':');
        if (colon <= 0)
        {
            throw new HttpProtocolException(400, "a header field must be name: value");
        }

        var name = line[..colon];
        foreach (var b in name)
        {
            if (!IsTokenChar(b))
            {
                throw new HttpProtocolException(400, "a header name must be a token, with no space before the colon");
            }
        }

        var value = line[(colon + 1)..].Trim(" \t"u8);
        foreach (var b in value)
        {
            if (b is 0 or (byte)'\r' or (byte)'\n')
            {
                throw new HttpProtocolException(400, $"the {Encoding.ASCII.GetString(name)} header holds a control character");
            }
        }

        if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
        {
            if (value.Length is 0 or > 18 || value.ContainsAnyExceptInRange((byte)'0', (byte)'9'))
            {
                throw new HttpProtocolException(400, "Content-Length must be a decimal number of bytes");
            }

            var length = long.Parse(value, CultureInfo.InvariantCulture);
            if (headers.ContentLength is { } earlier && earlier != length)
            {
                throw new HttpProtocolException(400, "Content-Length is given twice with different values");
            }

            headers.ContentLength = length;
        }
        else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
        {
            if (!Ascii.EqualsIgnoreCase(value, "chunked"u8) || headers.Chunked)
            {
                throw new HttpProtocolException(501, "the only Transfer-Encoding served is chunked");
            }

            headers.Chunked = true;
        }
        else if (Ascii.EqualsIgnoreCase(name, "Content-Type"u8))
        {
            headers.ContentType = Text(value);
        }
        else if (Ascii.EqualsIgnoreCase(name, "Content-Encoding"u8))
        {
            headers.ContentEncoding = Text(value);
        }
        else if (Ascii.EqualsIgnoreCase(name, "Accept"u8))
        {
            headers.Accept = headers.Accept is null ? Text(value) : headers.Accept + ", " + Text(value);
        }
        else if (Ascii.EqualsIgnoreCase(name, "Accept-Encoding"u8))
        {
            headers.AcceptEncoding = headers.AcceptEncoding is null ? Text(value) : headers.AcceptEncoding + ", " + Text(value);
        }
        else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
        {
            foreach (var range in value.Split((byte)','))
            {
                var option = value[range].Trim(" \t"u8);
                headers.Close |= Ascii.EqualsIgnoreCase(option, "close"u8);
                headers.KeepAlive |= Ascii.EqualsIgnoreCase(option, "keep-alive"u8);
            }
        }
        else if (Ascii.EqualsIgnoreCase(name, "Expect"u8))
        {
            if (!Ascii.EqualsIgnoreCase(value, "100-continue"u8))
            {
                throw new HttpProtocolException(417, "the only expectation served is 100-continue");
            }

            headers.ExpectContinue = true;
        }
    }

    private static string Text(ReadOnlySpan<byte> value) => Encoding.Latin1.GetString(value);

    private static bool IsTokenChar(byte b) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
            or (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+'
            or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';
}
