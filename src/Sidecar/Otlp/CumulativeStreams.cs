using AgentMetrics.Sidecar.Ingest;
using AgentMetrics.Sidecar.Metrics;

namespace AgentMetrics.Sidecar.Otlp;

/// <summary>
/// The cumulative OTLP streams that feed one series, each with the last values it reported, so a new
/// point adds only its increment. A stream is told apart by its OTLP metric's name, its resource and its
/// attributes; several can feed one series (two instances of a service, say). Lookups compare those in
/// place, so a known stream costs no allocation.
/// </summary>
internal sealed class CumulativeStreams : SeriesState
{
    /// <summary>
    /// The first stream; the others follow it. Most series are fed by one stream, so a list costs one
    /// object where an array of streams (and one of their hashes) cost three. Changed only under the
    /// lock, which is this object's own monitor rather than a lock object of its own, again to save one
    /// per series.
    /// </summary>
    private Stream? _first;

    /// <inheritdoc/>
    public override int Sources => Count;

    /// <summary>How many streams there are.</summary>
    public int Count
    {
        get
        {
            var count = 0;
            for (var stream = Volatile.Read(ref _first); stream is not null; stream = stream.Next)
            {
                count++;
            }

            return count;
        }
    }

    /// <summary>
    /// The increment of a sum point: the whole value for a new stream or after a reset (a new start
    /// time, or a monotonic value going down), else the difference from the last. False when the
    /// stream is new and <paramref name="admit"/> refuses it.
    /// </summary>
    public bool TrySumDelta(string name, OtlpResource resource, OtlpPoint point, bool monotonic, Func<bool> admit, out double delta)
    {
        lock (this)
        {
            if (Find(name, resource, point.Attributes) is not { } stream)
            {
                delta = point.Value;
                return Add(name, resource, point, admit) is { } added && Keep(added, point.StartTimeUnixNano, point.Value);
            }

            var reset = stream.Start != point.StartTimeUnixNano || (monotonic && point.Value < stream.Last);
            delta = reset ? point.Value : point.Value - stream.Last;
            return Keep(stream, point.StartTimeUnixNano, point.Value);
        }
    }

    /// <summary>
    /// Turns a cumulative histogram point's <paramref name="counts"/> and <paramref name="sum"/> into
    /// increments in place (left whole for a new stream or after a reset: a new start time, fewer
    /// buckets, or a count going down). False when the stream is new and <paramref name="admit"/> refuses it.
    /// </summary>
    public bool TryHistogramDelta(string name, OtlpResource resource, OtlpPoint point, Span<long> counts, ref double sum, Func<bool> admit)
    {
        lock (this)
        {
            if (Find(name, resource, point.Attributes) is not { } stream)
            {
                if (Add(name, resource, point, admit) is not { } added)
                {
                    return false;
                }

                added.Buckets = counts.ToArray();
                return Keep(added, point.StartTimeUnixNano, sum);
            }

            var last = stream.Buckets;
            var reset = stream.Start != point.StartTimeUnixNano || last is null || last.Length != counts.Length;
            for (var i = 0; !reset && i < counts.Length; i++)
            {
                reset = counts[i] < last![i];
            }

            var total = sum;
            if (reset)
            {
                stream.Buckets = last?.Length == counts.Length ? last : new long[counts.Length];
                counts.CopyTo(stream.Buckets);
            }
            else
            {
                for (var i = 0; i < counts.Length; i++)
                {
                    (counts[i], last![i]) = (counts[i] - last[i], counts[i]);
                }

                sum -= stream.Last;
            }

            return Keep(stream, point.StartTimeUnixNano, total);
        }
    }

    private static bool Keep(Stream stream, ulong start, double last)
    {
        stream.Start = start;
        stream.Last = last;
        return true;
    }

    private Stream? Find(string name, OtlpResource resource, Attributes attributes)
    {
        var hash = resource.KeyHash;
        for (var stream = _first; stream is not null; stream = stream.Next)
        {
            if (stream.ResourceHash == hash && stream.Resource == resource.Key && stream.Name == name && stream.Has(attributes))
            {
                return stream;
            }
        }

        return null;
    }

    private Stream? Add(string name, OtlpResource resource, OtlpPoint point, Func<bool> admit)
    {
        if (!admit())
        {
            return null;
        }

        var items = point.Attributes.AsSpan();
        var attributes = new KeyValuePair<string, string>[items.Length];
        for (var i = 0; i < attributes.Length; i++)
        {
            attributes[i] = new(items[i].Key, items[i].Value.Text);
        }

        var stream = new Stream(name, resource.Key, resource.KeyHash, attributes);
        ref var end = ref _first;
        while (end is not null)
        {
            end = ref end.Next;
        }

        Volatile.Write(ref end, stream);
        return stream;
    }

    private sealed class Stream(string name, string resource, int resourceHash, KeyValuePair<string, string>[] attributes)
    {
        /// <summary>The next stream of the series.</summary>
        public Stream? Next;

        public string Name { get; } = name;

        /// <summary>The resource's attributes as <see cref="OtlpResource.Key"/> spells them.</summary>
        public string Resource { get; } = resource;

        /// <summary>The hash of <see cref="Resource"/>, compared first.</summary>
        public int ResourceHash { get; } = resourceHash;

        public ulong Start { get; set; }

        /// <summary>The last value (a sum's value, a histogram's sum).</summary>
        public double Last { get; set; }

        /// <summary>A histogram's last bucket counts.</summary>
        public long[]? Buckets { get; set; }

        /// <summary>Whether <paramref name="other"/> holds exactly this stream's attributes, in the same order.</summary>
        public bool Has(Attributes other)
        {
            var items = other.AsSpan();
            if (items.Length != attributes.Length)
            {
                return false;
            }

            for (var i = 0; i < attributes.Length; i++)
            {
                if (items[i].Key != attributes[i].Key || items[i].Value.Text != attributes[i].Value)
                {
                    return false;
                }
            }

            return true;
        }
    }
}
