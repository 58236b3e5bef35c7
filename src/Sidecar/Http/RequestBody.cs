using System.Buffers.Text;

namespace AgentMetrics.Sidecar.Http;

/// <summary>Where a request body's bytes come from: what the connection has buffered first, then its socket.</summary>
internal interface IBodySource
{
    /// <summary>The head size limit, which bounds a chunked body's trailers too.</summary>
    int MaxHeadBytes { get; }

    /// <summary>Reads at least one byte into <paramref name="into"/>; throws when the peer closes first.</summary>
    ValueTask<int> ReadAsync(Memory<byte> into, CancellationToken cancellationToken);

    /// <summary>Reads one CRLF-terminated line of at most <paramref name="maxBytes"/> and consumes it; returns it without the CRLF, valid until the next read.</summary>
    ValueTask<ReadOnlyMemory<byte>> ReadLineAsync(int maxBytes, string what);
}

/// <summary>A request body as a read-only stream, its framing undone; it knows when the framing says it has ended.</summary>
internal abstract class RequestBody : Stream
{
    /// <summary>The body the headers frame: Content-Length bytes (none when absent), or chunked.</summary>
    public static RequestBody For(IBodySource source, RequestHeaders headers) =>
        headers.Chunked ? new ChunkedBody(source) : new LengthBody(source, headers.ContentLength ?? 0);

    public abstract bool Finished { get; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private sealed class LengthBody(IBodySource source, long length) : RequestBody
    {
        private long _remaining = length;

        public override bool Finished => _remaining == 0;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_remaining == 0 || buffer.Length == 0)
            {
                return 0;
            }

            var read = await source.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken);
            _remaining -= read;
            return read;
        }
    }

    /// <summary>The chunked transfer coding: hex size line (extensions ignored), data, CRLF; a 0 chunk, then trailers.</summary>
    private sealed class ChunkedBody(IBodySource source) : RequestBody
    {
        private const int MaxLine = 4096;
        private long _chunkLeft;
        private bool _needsCrLf;
        private bool _done;

        public override bool Finished => _done;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_done || buffer.Length == 0)
            {
                return 0;
            }

            if (_chunkLeft == 0)
            {
                if (_needsCrLf)
                {
                    var after = await source.ReadLineAsync(MaxLine, "line after a chunk");
                    if (after.Length != 0)
                    {
                        throw new HttpProtocolException(400, "chunk data must be followed by CRLF");
                    }

                    _needsCrLf = false;
                }

                _chunkLeft = await ReadSizeAsync();
                if (_chunkLeft == 0)
                {
                    await SkipTrailersAsync();
                    _done = true;
                    return 0;
                }
            }

            var read = await source.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _chunkLeft)], cancellationToken);
            _chunkLeft -= read;
            _needsCrLf = _chunkLeft == 0;
            return read;
        }

        private async ValueTask<long> ReadSizeAsync()
        {
            var line = (await source.ReadLineAsync(MaxLine, "chunk size line")).Span;
            var extension = line.IndexOf((byte)';');
            var digits = (extension >= 0 ? line[..extension] : line).Trim(" \t"u8);
            if (digits.Length is 0 or > 15 || !Utf8Parser.TryParse(digits, out long size, out var consumed, 'x') || consumed != digits.Length)
            {
                throw new HttpProtocolException(400, "a chunk size must be 1 to 15 hexadecimal digits");
            }

            return size;
        }

        private async ValueTask SkipTrailersAsync()
        {
            var total = 0;
            while (true)
            {
                var length = (await source.ReadLineAsync(MaxLine, "trailer line")).Length;
                if (length == 0)
                {
                    return;
                }

                total += length;
                if (total > source.MaxHeadBytes)
                {
                    throw new HttpProtocolException(431, $"the trailers exceed {source.MaxHeadBytes} bytes");
                }
            }
        }
    }
}
