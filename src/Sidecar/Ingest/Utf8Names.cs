using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace AgentMetrics.Sidecar.Ingest;

/// <summary>Finds one of a fixed set of names by its UTF-8 bytes, so a parser need not decode a name to look it up.</summary>
internal sealed class Utf8Names<T>
{
    private readonly (byte[] Name, T Value)[][] _byLength;

    public Utf8Names(IEnumerable<(string Name, T Value)> names)
    {
        var encoded = names.Select(n => (Name: Encoding.UTF8.GetBytes(n.Name), n.Value)).ToList();
        _byLength = new (byte[], T)[encoded.Max(n => n.Name.Length) + 1][];
        for (var length = 0; length < _byLength.Length; length++)
        {
            _byLength[length] = [.. encoded.Where(n => n.Name.Length == length)];
        }
    }

    public bool TryGet(ReadOnlySpan<byte> name, [MaybeNullWhen(false)] out T value)
    {
        if ((uint)name.Length < (uint)_byLength.Length)
        {
            foreach (var (candidate, found) in _byLength[name.Length])
            {
                if (name.SequenceEqual(candidate))
                {
                    value = found;
                    return true;
                }
            }
        }

        value = default;
        return false;
    }
}
