using Google.Protobuf;

namespace Molyneux.Onnx;

/// <summary>One field of a protobuf message as it lies on the wire: its number, and either its scalar bits (varint,
/// fixed32, fixed64) or, for a length-delimited field, the slice of the file that holds its payload.</summary>
internal readonly record struct WireField(int Number, WireFormat.WireType WireType, ulong Bits, WireMessage Payload)
{
    public long Int64 => (long)Bits;

    public float Float => BitConverter.Int32BitsToSingle((int)(uint)Bits);

    public string String => System.Text.Encoding.UTF8.GetString(Payload.Span);
}

/// <summary>A protobuf message as a slice of one byte array, read field by field with Google.Protobuf's
/// <see cref="CodedInputStream"/>. Nested messages are sub-slices of the same array rather than copies, so a
/// 90 MB model is held once while its initializers are turned into tensors.</summary>
internal sealed class WireMessage
{
    private readonly byte[] buffer;
    private readonly int offset;
    private readonly int length;

    public WireMessage(byte[] buffer, int offset, int length) => (this.buffer, this.offset, this.length) = (buffer, offset, length);

    public ReadOnlySpan<byte> Span => buffer.AsSpan(offset, length);

    public int Length => length;

    /// <summary>A reader of this message's bytes alone (for packed repeated values).</summary>
    private CodedInputStream Input() => new(buffer, offset, length);

    /// <summary>The fields in file order. A field that runs past the end of its message, a malformed varint or a wire
    /// type ONNX does not use throws <see cref="InvalidProtocolBufferException"/> (or a <see cref="FormatException"/>).</summary>
    public IEnumerable<WireField> Fields()
    {
        var position = offset;
        var end = offset + length;
        while (position < end)
        {
            var input = new CodedInputStream(buffer, position, end - position);
            var start = input.Position;
            var tag = input.ReadTag();
            var number = WireFormat.GetTagFieldNumber(tag);
            var wireType = WireFormat.GetTagWireType(tag);
            if (number <= 0) throw new FormatException($"field number {number} at byte {position}");
            WireField field;
            switch (wireType)
            {
                case WireFormat.WireType.Varint:
                    field = new WireField(number, wireType, input.ReadUInt64(), Empty);
                    break;
                case WireFormat.WireType.Fixed32:
                    field = new WireField(number, wireType, input.ReadFixed32(), Empty);
                    break;
                case WireFormat.WireType.Fixed64:
                    field = new WireField(number, wireType, input.ReadFixed64(), Empty);
                    break;
                case WireFormat.WireType.LengthDelimited:
                    var size = input.ReadLength();
                    var payloadStart = position + (int)(input.Position - start);
                    if (size < 0 || payloadStart + (long)size > end)
                        throw new FormatException($"field {number} at byte {position} claims {size} bytes, past the end of its message (byte {end})");
                    field = new WireField(number, wireType, 0, new WireMessage(buffer, payloadStart, size));
                    position = payloadStart + size;
                    yield return field;
                    continue;
                default:
                    throw new FormatException($"wire type {(int)wireType} (field {number}) at byte {position}, which ONNX never writes");
            }
            position += (int)(input.Position - start);
            yield return field;
        }
    }

    /// <summary>The values of a repeated int64 field: packed (one length-delimited run of varints) or one per field.</summary>
    public static void AddInt64s(WireField field, List<long> values)
    {
        if (field.WireType != WireFormat.WireType.LengthDelimited) { values.Add(field.Int64); return; }
        var input = field.Payload.Input();
        while (!input.IsAtEnd) values.Add(input.ReadInt64());
    }

    /// <summary>The values of a repeated float field: packed (little-endian 4-byte values) or one per field.</summary>
    public static void AddFloats(WireField field, List<float> values)
    {
        if (field.WireType != WireFormat.WireType.LengthDelimited) { values.Add(field.Float); return; }
        if (field.Payload.Length % sizeof(float) != 0)
            throw new FormatException($"packed floats of field {field.Number} take {field.Payload.Length} bytes, not a multiple of 4");
        var input = field.Payload.Input();
        while (!input.IsAtEnd) values.Add(input.ReadFloat());
    }

    private static WireMessage Empty { get; } = new([], 0, 0);
}
