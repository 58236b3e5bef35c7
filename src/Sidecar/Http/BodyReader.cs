using System.IO.Compression;
using AgentMetrics.Sidecar.Ingest;

namespace AgentMetrics.Sidecar.Http;

/// <summary>Why a body was not read: the status to answer with, the rule in words, and when to come back for a 503.</summary>
public sealed record BodyProblem(int Status, string Message, int? RetryAfterSeconds = null);

/// <summary>
/// Reads request bodies whole (gunzipped when so encoded, capped at <c>--max-body-bytes</c>) into
/// arrays the sidecar owns and takes back. Bodies up to <see cref="SmallBytes"/> use small arrays;
/// a larger one needs one of <see cref="LargeBodies"/> slots, each holding an array of the whole cap,
/// so the memory bodies take is bounded however many clients send at once. A Content-Encoding other
/// than gzip or identity gets 415 before the body is read. A body that finds every
/// slot taken waits up to <see cref="LargeBodyWait"/> for one, then gets 503 with <c>Retry-After</c>.
/// </summary>
public sealed class BodyReader
{
    /// <summary>The size of a small body's array: most event and OTLP requests fit.</summary>
    public const int SmallBytes = 64 * 1024;

    private readonly BufferPool _small;
    private readonly BufferPool _large;
    private readonly SemaphoreSlim _largeSlots;

    /// <summary>A reader for bodies of at most <paramref name="maxBodyBytes"/>, with <paramref name="largeBodies"/> large bodies at once.</summary>
    public BodyReader(int maxBodyBytes, int largeBodies = 2, TimeSpan? largeBodyWait = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBodyBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(largeBodies);
        MaxBodyBytes = maxBodyBytes;
        LargeBodies = largeBodies;
        LargeBodyWait = largeBodyWait ?? TimeSpan.FromSeconds(1);
        // One byte past the cap, so a read that fills the array shows the body is over it.
        _small = new BufferPool(Math.Min(SmallBytes, maxBodyBytes + 1), retained: 8);
        // Every slot keeps its array: a steady stream of large bodies then allocates nothing on the large object heap.
        _large = new BufferPool(maxBodyBytes + 1, retained: largeBodies);
        _largeSlots = new SemaphoreSlim(largeBodies, largeBodies);
    }

    /// <summary>The largest body taken, after gzip decompression.</summary>
    public int MaxBodyBytes { get; }

    /// <summary>How many bodies larger than <see cref="SmallBytes"/> may be read at once.</summary>
    public int LargeBodies { get; }

    /// <summary>How long a large body waits for a slot before it gets 503.</summary>
    public TimeSpan LargeBodyWait { get; }

    internal BufferPool Small => _small;

    internal BufferPool Large => _large;

    /// <summary>Reads the whole body, or says why not; the body returned must be disposed, which gives its array back.</summary>
    public async Task<(RequestBody? Body, BodyProblem? Problem)> ReadAsync(HttpRequest request)
    {
        var declared = request.ContentLength;
        if (declared > MaxBodyBytes)
        {
            return (null, TooLarge());
        }

        var encoding = (request.ContentEncoding ?? "").Trim();
        var gzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase) || encoding.Equals("x-gzip", StringComparison.OrdinalIgnoreCase);
        if (!gzip && encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            // Read as it came, a compressed body would be refused as malformed JSON or protobuf, or worse, taken.
            return (null, new BodyProblem(415, $"Content-Encoding must be gzip or identity, got \"{ClientText.Clip(encoding)}\""));
        }

        return await ReadAsync(request.Body, gzip, declared, request.Aborted);
    }

    /// <summary>
    /// Reads <paramref name="source"/> whole (gunzipped when <paramref name="gzip"/>) under the same cap and
    /// large-body slots as every other body, or says why not; the body returned must be disposed.
    /// </summary>
    public async Task<(RequestBody? Body, BodyProblem? Problem)> ReadAsync(Stream source, bool gzip, long? declared, CancellationToken cancellationToken)
    {
        var body = new RequestBody(this);
        try
        {
            // A plain body of a declared length says at once whether it needs a large array.
            if (!gzip && declared >= _small.Size)
            {
                if (!await body.TakeLargeAsync(cancellationToken))
                {
                    return Refused(body, Busy());
                }
            }
            else
            {
                body.TakeSmall();
            }

            await using var stream = gzip ? new GZipStream(source, CompressionMode.Decompress, leaveOpen: true) : source;
            while (true)
            {
                if (body.Length == body.Array.Length)
                {
                    if (body.Array.Length > MaxBodyBytes)
                    {
                        return Refused(body, TooLarge());
                    }

                    if (!await body.TakeLargeAsync(cancellationToken))
                    {
                        return Refused(body, Busy());
                    }
                }

                var read = await stream.ReadAsync(body.Array.AsMemory(body.Length), cancellationToken);
                if (read == 0)
                {
                    return (body, null);
                }

                body.Length += read;
                if (body.Length > MaxBodyBytes)
                {
                    return Refused(body, TooLarge());
                }
            }
        }
        catch (InvalidDataException)
        {
            return Refused(body, new BodyProblem(400, "the body is not valid gzip"));
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    private static (RequestBody?, BodyProblem?) Refused(RequestBody body, BodyProblem problem)
    {
        body.Dispose();
        return (null, problem);
    }

    private BodyProblem TooLarge() => new(413, $"the body is larger than the {MaxBodyBytes}-byte cap (--max-body-bytes)");

    private BodyProblem Busy() => new(
        503, $"{LargeBodies} bodies larger than {SmallBytes} bytes are being read already; send again after the Retry-After delay",
        RetryAfterSeconds: 1);

    /// <summary>A body read whole: its bytes live in a pooled array until it is disposed.</summary>
    public sealed class RequestBody : IDisposable
    {
        private readonly BodyReader _reader;
        private bool _large;

        internal RequestBody(BodyReader reader)
        {
            _reader = reader;
        }

        /// <summary>The bytes of the body.</summary>
        public ReadOnlyMemory<byte> Data => Array.AsMemory(0, Length);

        internal byte[] Array { get; private set; } = [];

        internal int Length { get; set; }

        internal void TakeSmall() => Array = _reader._small.Rent();

        /// <summary>Takes a large slot and moves what was read into a large array; false when no slot came free in time.</summary>
        internal async Task<bool> TakeLargeAsync(CancellationToken cancellationToken)
        {
            if (!await _reader._largeSlots.WaitAsync(_reader.LargeBodyWait, cancellationToken))
            {
                return false;
            }

            _large = true;
            var large = _reader._large.Rent();
            Array.AsSpan(0, Length).CopyTo(large);
            GiveBack();
            Array = large;
            return true;
        }

        /// <inheritdoc />
        public void Dispose()
        {
            GiveBack();
            Array = [];
            Length = 0;
            if (_large)
            {
                _large = false;
                _reader._largeSlots.Release();
            }
        }

        private void GiveBack()
        {
            if (Array.Length == 0)
            {
                return;
            }

            (Array.Length == _reader._large.Size ? _reader._large : _reader._small).Return(Array);
        }
    }
}
