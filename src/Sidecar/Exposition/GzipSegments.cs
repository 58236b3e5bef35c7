using System.Buffers;
using System.IO.Compression;

namespace AgentMetrics.Sidecar.Exposition;

/// <summary>
/// A buffer writer that gzip-compresses what is written into it, at zlib's fastest level, into a
/// <see cref="SegmentedBuffer"/>. The exposition is written through one reused scratch segment and
/// compressed as it goes, so the uncompressed text (10 MB for 1000 metrics × 10 series with identity
/// labels) is never held whole; only the compressed answer is, about a twentieth of it: text exposition
/// repeats its names and labels on every line (bench/results/sidecar.md).
/// </summary>
internal sealed class GzipSegments : IBufferWriter<byte>, IDisposable
{
    private readonly SegmentedBuffer _into;
    private readonly GZipStream _gzip;
    private byte[] _scratch;
    private int _used;

    /// <summary>Starts one gzip member written into <paramref name="into"/> (reset first), through <paramref name="scratch"/>.</summary>
    public GzipSegments(SegmentedBuffer into, byte[] scratch)
    {
        into.Reset();
        _into = into;
        _scratch = scratch;
        _gzip = new GZipStream(new BufferWriterStream(into), CompressionLevel.Fastest, leaveOpen: false);
    }

    /// <inheritdoc />
    public void Advance(int count)
    {
        if (count < 0 || _used + count > _scratch.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count), "advanced past the span handed out");
        }

        _used += count;
    }

    /// <inheritdoc />
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (_scratch.Length - _used < sizeHint)
        {
            Compress();
            if (_scratch.Length < sizeHint)
            {
                _scratch = new byte[sizeHint];
            }
        }

        return _scratch.AsMemory(_used);
    }

    /// <inheritdoc />
    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    /// <summary>Compresses what is left and writes the gzip trailer; the answer is then in the segments.</summary>
    public void Dispose()
    {
        Compress();
        _gzip.Dispose();
    }

    private void Compress()
    {
        _gzip.Write(_scratch, 0, _used);
        _used = 0;
    }

    /// <summary>A write-only stream over the segments; what GZipStream writes lands there.</summary>
    private sealed class BufferWriterStream(SegmentedBuffer buffer) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => buffer.WrittenCount;

        public override long Position
        {
            get => buffer.WrittenCount;
            set => throw new NotSupportedException();
        }

        public override void Write(ReadOnlySpan<byte> source)
        {
            while (source.Length > 0)
            {
                var span = buffer.GetSpan(1);
                var count = Math.Min(span.Length, source.Length);
                source[..count].CopyTo(span);
                buffer.Advance(count);
                source = source[count..];
            }
        }

        public override void Write(byte[] source, int offset, int count) => Write(source.AsSpan(offset, count));

        public override void Flush()
        {
        }

        public override int Read(byte[] destination, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
