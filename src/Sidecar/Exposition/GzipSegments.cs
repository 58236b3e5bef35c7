using System.IO.Compression;

namespace AgentMetrics.Sidecar.Exposition;

/// <summary>
/// Compresses an exposition's segments into another <see cref="SegmentedBuffer"/> as one gzip member, at
/// zlib's fastest level: text exposition repeats its names and labels on every line, so the fastest level
/// already shrinks it about twentyfold (bench/results/sidecar.md), at a few milliseconds per 10 MB.
/// </summary>
internal static class GzipSegments
{
    /// <summary>Writes <paramref name="segments"/> gzip-compressed into <paramref name="into"/> (reset first).</summary>
    public static void Compress(IReadOnlyList<ReadOnlyMemory<byte>> segments, SegmentedBuffer into)
    {
        into.Reset();
        using var gzip = new GZipStream(new BufferWriterStream(into), CompressionLevel.Fastest, leaveOpen: false);
        foreach (var segment in segments)
        {
            gzip.Write(segment.Span);
        }
    }

    /// <summary>A write-only stream over a buffer writer; what GZipStream writes lands in the segments.</summary>
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
