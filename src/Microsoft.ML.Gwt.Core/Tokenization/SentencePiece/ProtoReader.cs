namespace Microsoft.ML.Gwt.Core.Tokenization.SentencePiece;

/// <summary>A minimal protocol-buffers wire-format reader: enough to walk the fields of a SentencePiece model.</summary>
internal ref struct ProtoReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    public ProtoReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _pos = 0;
    }

    public bool AtEnd => _pos >= _data.Length;

    /// <summary>Reads the next field's tag: its number and wire type.</summary>
    public (int Field, int WireType) ReadTag()
    {
        ulong tag = ReadVarint();
        return ((int)(tag >> 3), (int)(tag & 7));
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_pos >= _data.Length)
            {
                throw new InvalidDataException("truncated varint");
            }
            byte b = _data[_pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }
        throw new InvalidDataException("varint longer than 10 bytes");
    }

    public ReadOnlySpan<byte> ReadBytes()
    {
        ulong n = ReadVarint();
        if (n > (ulong)(_data.Length - _pos))
        {
            throw new InvalidDataException($"a field claims {n} bytes but only {_data.Length - _pos} remain");
        }
        var span = _data.Slice(_pos, (int)n);
        _pos += (int)n;
        return span;
    }

    public float ReadFloat()
    {
        if (_pos + 4 > _data.Length)
        {
            throw new InvalidDataException("truncated float");
        }
        float v = BitConverter.ToSingle(_data.Slice(_pos, 4));
        _pos += 4;
        return v;
    }

    /// <summary>Skips a field of the given wire type.</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case 0: ReadVarint(); break;
            case 1: Advance(8); break;
            case 2: ReadBytes(); break;
            case 5: Advance(4); break;
            default: throw new InvalidDataException($"unsupported wire type {wireType}");
        }
    }

    private void Advance(int n)
    {
        if (_pos + n > _data.Length)
        {
            throw new InvalidDataException("truncated field");
        }
        _pos += n;
    }
}
