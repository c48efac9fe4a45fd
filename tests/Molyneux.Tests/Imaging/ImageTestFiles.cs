using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace Molyneux.Tests.Imaging;

/// <summary>Builds image files byte by byte, for formats or variants SkiaSharp cannot write (GIF, BMP, 16-bit and
/// grayscale PNG, headers that lie about the size), and reads F32 tensors from the golden safetensors file.</summary>
internal static class ImageTestFiles
{
    /// <summary>A PNG from already laid-out rows (filter byte 0 is added here). Colour types: 0 gray, 2 RGB,
    /// 4 gray+alpha, 6 RGBA; 16-bit samples are big-endian, as PNG stores them.</summary>
    public static byte[] Png(int width, int height, byte bitDepth, byte colorType, byte[][] rows)
    {
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = bitDepth;
        header[9] = colorType;

        using var raw = new MemoryStream();
        using (var zlib = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
            foreach (var row in rows)
            {
                zlib.WriteByte(0);
                zlib.Write(row);
            }
        return PngFromChunks(("IHDR", header), ("IDAT", raw.ToArray()), ("IEND", []));
    }

    public static byte[] PngFromChunks(params (string Type, byte[] Data)[] chunks)
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        Span<byte> word = stackalloc byte[4];
        foreach (var (type, data) in chunks)
        {
            BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
            png.Write(word);
            var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            png.Write(typed);
            BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typed));
            png.Write(word);
        }
        return png.ToArray();
    }

    /// <summary>A PNG whose IHDR declares width × height RGB pixels, followed by a tiny IDAT: enough for a
    /// decoder to read the size, far too little to hold the pixels.</summary>
    public static byte[] PngHeaderOnly(int width, int height)
    {
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;
        header[9] = 2;
        using var raw = new MemoryStream();
        using (var zlib = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
            zlib.Write(new byte[16]);
        return PngFromChunks(("IHDR", header), ("IDAT", raw.ToArray()), ("IEND", []));
    }

    /// <summary>A 24-bit BMP (rows bottom-up, BGR, padded to 4 bytes) from a colour per pixel, row-major from the top.</summary>
    public static byte[] Bmp(int width, int height, Func<int, int, (byte R, byte G, byte B)> colour)
    {
        var rowBytes = (width * 3 + 3) / 4 * 4;
        var pixelBytes = rowBytes * height;
        var bmp = new byte[54 + pixelBytes];
        bmp[0] = (byte)'B';
        bmp[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(34), pixelBytes);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var (r, g, b) = colour(x, y);
                var at = 54 + (height - 1 - y) * rowBytes + x * 3;
                (bmp[at], bmp[at + 1], bmp[at + 2]) = (b, g, r);
            }
        return bmp;
    }

    /// <summary>An animated GIF with one full-canvas frame per palette index: frame i paints every pixel with
    /// palette[frameIndices[i]]. The LZW stream sends a clear code before each pixel, so every code keeps the
    /// initial 3-bit width and no dictionary is needed.</summary>
    public static byte[] Gif(int width, int height, (byte R, byte G, byte B)[] palette, params int[] frameIndices)
    {
        if (palette.Length != 4) throw new ArgumentException("the helper writes a 4-colour palette");
        using var gif = new MemoryStream();
        void Short(int value) { gif.WriteByte((byte)value); gif.WriteByte((byte)(value >> 8)); }

        gif.Write("GIF89a"u8);
        Short(width);
        Short(height);
        gif.WriteByte(0b1000_0001); // global colour table of 2^(1+1) = 4 entries
        gif.WriteByte(0);
        gif.WriteByte(0);
        foreach (var (r, g, b) in palette)
            gif.Write([r, g, b]);
        gif.Write([0x21, 0xFF, 11, .. "NETSCAPE2.0"u8, 3, 1, 0, 0, 0]); // loop forever: marks it as an animation

        foreach (var index in frameIndices)
        {
            gif.Write([0x21, 0xF9, 4, 0b0000_0100, 10, 0, 0, 0]); // graphic control: keep frame, 0.1 s
            gif.WriteByte(0x2C);
            Short(0);
            Short(0);
            Short(width);
            Short(height);
            gif.WriteByte(0);
            const int minimumCodeSize = 2, clear = 4, end = 5;
            gif.WriteByte(minimumCodeSize);
            var codes = Enumerable.Repeat(new[] { clear, index }, width * height).SelectMany(pair => pair).Append(end);
            var packed = new List<byte>();
            int buffer = 0, bits = 0;
            foreach (var code in codes)
            {
                buffer |= code << bits;
                bits += 3;
                while (bits >= 8)
                {
                    packed.Add((byte)buffer);
                    buffer >>= 8;
                    bits -= 8;
                }
            }
            if (bits > 0) packed.Add((byte)buffer);
            foreach (var block in packed.Chunk(255))
            {
                gif.WriteByte((byte)block.Length);
                gif.Write(block);
            }
            gif.WriteByte(0);
        }
        gif.WriteByte(0x3B);
        return gif.ToArray();
    }

    /// <summary>An F32 tensor from a safetensors file: 8-byte little-endian header length, JSON header with
    /// dtype, shape and data_offsets, then the raw data.</summary>
    public static Tensor ReadF32(string safetensorsPath, string name)
    {
        using var file = File.OpenRead(safetensorsPath);
        Span<byte> lengthBytes = stackalloc byte[8];
        file.ReadExactly(lengthBytes);
        var headerLength = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes));
        var header = new byte[headerLength];
        file.ReadExactly(header);
        using var json = JsonDocument.Parse(header);
        var entry = json.RootElement.GetProperty(name);
        Assert.Equal("F32", entry.GetProperty("dtype").GetString());
        var shape = entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        var offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt64()).ToArray();
        var data = new byte[offsets[1] - offsets[0]];
        file.Position = 8 + headerLength + offsets[0];
        file.ReadExactly(data);
        var values = new float[data.Length / 4];
        Buffer.BlockCopy(data, 0, values, 0, data.Length);
        return tensor(values, shape);
    }

    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
