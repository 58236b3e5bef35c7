using System.Buffers;

namespace AgentMetrics.Sidecar.Exposition;

/// <summary>
/// A buffer writer made of 64 KiB segments, kept from one scrape to the next. An exposition of tens of
/// megabytes (984 metrics of 50 series) then needs no contiguous array: a growing array doubles, and
/// while it copies, the old and the new one are both alive, half again as much memory as the text.
/// Segments stay below the large-object threshold and are reused whole.
/// </summary>
internal sealed class SegmentedBuffer : IBufferWriter<byte>
{
    /// <summary>The size of a segment, below the 85,000-byte large-object threshold.</summary>
    public const int SegmentBytes = 64 * 1024;

    private readonly List<byte[]> _segments = [];
    private readonly List<int> _used = [];

    /// <summary>Bytes written since the last <see cref="Reset"/>.</summary>
    public long WrittenCount { get; private set; }

    /// <summary>Forgets what was written; the segments stay for the next use.</summary>
    public void Reset()
    {
        _used.Clear();
        WrittenCount = 0;
    }

    /// <summary>The written bytes, segment by segment, into <paramref name="into"/> (cleared first).</summary>
    public void Written(List<ReadOnlyMemory<byte>> into)
    {
        into.Clear();
        for (var i = 0; i < _used.Count; i++)
        {
            if (_used[i] > 0)
            {
                into.Add(_segments[i].AsMemory(0, _used[i]));
            }
        }
    }

    /// <inheritdoc />
    public void Advance(int count)
    {
        var current = _used.Count - 1;
        if (count < 0 || (count > 0 && (current < 0 || _used[current] + count > _segments[current].Length)))
        {
            throw new ArgumentOutOfRangeException(nameof(count), "advanced past the span handed out");
        }

        if (count > 0)
        {
            _used[current] += count;
            WrittenCount += count;
        }
    }

    /// <inheritdoc />
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        sizeHint = Math.Max(sizeHint, 1);
        var current = _used.Count - 1;
        if (current < 0 || _segments[current].Length - _used[current] < sizeHint)
        {
            current = Next(sizeHint);
        }

        return _segments[current].AsMemory(_used[current]);
    }

    /// <inheritdoc />
    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    private int Next(int sizeHint)
    {
        var next = _used.Count;
        _used.Add(0);
        if (next == _segments.Count)
        {
            _segments.Add(new byte[Math.Max(SegmentBytes, sizeHint)]);
        }
        else if (_segments[next].Length < sizeHint)
        {
            _segments[next] = new byte[sizeHint];
        }

        return next;
    }
}
