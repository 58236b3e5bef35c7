namespace AgentMetrics.Sidecar.Http;

/// <summary>
/// Arrays of one fixed size that the sidecar owns: at most <see cref="Retained"/> are kept for reuse
/// between requests, and any more are left to the collector. Unlike <c>ArrayPool&lt;byte&gt;.Shared</c>,
/// which keeps arrays per core and per size class for as long as the process lives, what this pool
/// holds after a burst is bounded by its size times its count, so a burst of large bodies cannot pin
/// the heap it needed.
/// </summary>
internal sealed class BufferPool(int size, int retained)
{
    private readonly Stack<byte[]> _free = new(retained);

    /// <summary>The length of every array the pool hands out.</summary>
    public int Size { get; } = size;

    /// <summary>The most arrays kept between uses.</summary>
    public int Retained { get; } = retained;

    /// <summary>Arrays kept now, waiting to be reused.</summary>
    public int Free
    {
        get
        {
            lock (_free)
            {
                return _free.Count;
            }
        }
    }

    /// <summary>A kept array, or a new one; its contents are whatever its last user left.</summary>
    public byte[] Rent()
    {
        lock (_free)
        {
            if (_free.TryPop(out var array))
            {
                return array;
            }
        }

        return GC.AllocateUninitializedArray<byte>(Size);
    }

    /// <summary>Takes an array back for reuse, or drops it when the pool already keeps its share; others' arrays are ignored.</summary>
    public void Return(byte[] array)
    {
        if (array.Length != Size)
        {
            return;
        }

        lock (_free)
        {
            if (_free.Count < Retained)
            {
                _free.Push(array);
            }
        }
    }
}
