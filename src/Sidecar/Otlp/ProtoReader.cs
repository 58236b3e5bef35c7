using System.Buffers.Binary;
using System.Text;

namespace AgentMetrics.Sidecar.Otlp;

/// <summary>Malformed protobuf input.</summary>
public sealed class ProtoException(string message) : Exception(message);

/// <summary>
/// A protobuf wire-format reader over a byte span: tags, varints, fixed-width numbers and
/// length-delimited fields, each bounds-checked, so truncated or hostile input fails with a message
/// instead of reading past the end.
/// </summary>
public ref struct ProtoReader(ReadOnlySpan<byte> data)
{
    /// <summary>Wire type of varints.</summary>
    public const int Varint = 0;

    /// <summary>Wire type of 64-bit fixed fields.</summary>
    public const int Fixed64 = 1;

    /// <summary>Wire type of length-delimited fields.</summary>
    public const int LengthDelimited = 2;

    /// <summary>Wire type of 32-bit fixed fields.</summary>
    public const int Fixed32 = 5;

    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    /// <summary>Whether everything has been read.</summary>
    public readonly bool End => _position >= _data.Length;

    /// <summary>Reads the next tag.</summary>
    public (int Field, int WireType) ReadTag()
    {
        var tag = ReadVarint();
        var field = (int)(tag >> 3);
        if (field <= 0 || tag >> 3 > int.MaxValue)
        {
            throw new ProtoException($"invalid field number {tag >> 3} at byte {_position}");
        }

        return (field, (int)(tag & 7));
    }

    /// <summary>Reads a base-128 varint.</summary>
    public ulong ReadVarint()
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _data.Length)
            {
                throw new ProtoException($"truncated varint at byte {_position}");
            }

            var b = _data[_position++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }

        throw new ProtoException($"varint longer than 10 bytes at byte {_position}");
    }

    /// <summary>Reads a zigzag-encoded signed 32-bit varint.</summary>
    public int ReadSInt32()
    {
        var raw = (uint)ReadVarint();
        return (int)(raw >> 1) ^ -(int)(raw & 1);
    }

    /// <summary>Reads 8 little-endian bytes.</summary>
    public ulong ReadFixed64()
    {
        if (_position + 8 > _data.Length)
        {
            throw new ProtoException($"truncated 64-bit field at byte {_position}");
        }

        var value = BinaryPrimitives.ReadUInt64LittleEndian(_data.Slice(_position, 8));
        _position += 8;
        return value;
    }

    /// <summary>Reads 4 little-endian bytes.</summary>
    public uint ReadFixed32()
    {
        if (_position + 4 > _data.Length)
        {
            throw new ProtoException($"truncated 32-bit field at byte {_position}");
        }

        var value = BinaryPrimitives.ReadUInt32LittleEndian(_data.Slice(_position, 4));
        _position += 4;
        return value;
    }

    /// <summary>Reads a double.</summary>
    public double ReadDouble() => BitConverter.UInt64BitsToDouble(ReadFixed64());

    /// <summary>Reads a length-delimited field's bytes.</summary>
    public ReadOnlySpan<byte> ReadBytes()
    {
        var length = ReadVarint();
        if (length > (ulong)(_data.Length - _position))
        {
            throw new ProtoException($"length {length} at byte {_position} runs past the end of the message");
        }

        var bytes = _data.Slice(_position, (int)length);
        _position += (int)length;
        return bytes;
    }

    /// <summary>Reads a UTF-8 string; invalid UTF-8 is refused.</summary>
    public string ReadString()
    {
        var bytes = ReadBytes();
        try
        {
            return Strict.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new ProtoException($"string before byte {_position} is not valid UTF-8");
        }
    }

    /// <summary>
    /// Reads a UTF-8 string that requests repeat (an attribute key or value, a metric name): a short
    /// ASCII one comes from <see cref="RepeatedStrings"/>, anything else is decoded as by <see cref="ReadString()"/>.
    /// </summary>
    public string ReadRepeatedString()
    {
        var start = _position;
        if (RepeatedStrings.Get(ReadBytes()) is { } known)
        {
            return known;
        }

        _position = start;
        return ReadString();
    }

    /// <summary>Skips a field of the given wire type.</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case Varint:
                ReadVarint();
                break;
            case Fixed64:
                ReadFixed64();
                break;
            case LengthDelimited:
                ReadBytes();
                break;
            case Fixed32:
                ReadFixed32();
                break;
            default:
                throw new ProtoException($"unsupported wire type {wireType} at byte {_position}");
        }
    }

    /// <summary>Reads a varint field, checking its wire type first.</summary>
    public ulong ReadVarint(int field, int wireType)
    {
        Expect(field, wireType, Varint);
        return ReadVarint();
    }

    /// <summary>Reads a 64-bit fixed field, checking its wire type first.</summary>
    public ulong ReadFixed64(int field, int wireType)
    {
        Expect(field, wireType, Fixed64);
        return ReadFixed64();
    }

    /// <summary>Reads a double field, checking its wire type first.</summary>
    public double ReadDouble(int field, int wireType)
    {
        Expect(field, wireType, Fixed64);
        return ReadDouble();
    }

    /// <summary>Reads a length-delimited field (an embedded message or bytes), checking its wire type first.</summary>
    public ReadOnlySpan<byte> ReadBytes(int field, int wireType)
    {
        Expect(field, wireType, LengthDelimited);
        return ReadBytes();
    }

    /// <summary>Reads a string field, checking its wire type first; invalid UTF-8 is refused.</summary>
    public string ReadString(int field, int wireType)
    {
        Expect(field, wireType, LengthDelimited);
        return ReadString();
    }

    /// <summary>Reads a string field that requests repeat (see <see cref="ReadRepeatedString()"/>), checking its wire type first.</summary>
    public string ReadRepeatedString(int field, int wireType)
    {
        Expect(field, wireType, LengthDelimited);
        return ReadRepeatedString();
    }

    /// <summary>Checks a field has the wire type its schema gives it.</summary>
    public readonly void Expect(int field, int wireType, int expected)
    {
        if (wireType != expected)
        {
            throw new ProtoException($"field {field} has wire type {wireType}, expected {expected}, before byte {_position}");
        }
    }

    private static readonly UTF8Encoding Strict = new(false, true);
}
