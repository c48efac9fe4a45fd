using Google.Protobuf;

namespace Molyneux.Tests.Runtime;

/// <summary>Reads TensorBoard event files as TensorBoard does: records of (length, masked CRC of the length, the
/// Event protobuf, masked CRC of the data), every CRC checked, so a test sees exactly what TensorBoard would.</summary>
internal static class TensorBoardEvents
{
    public sealed record Entry(string Tag, int Step, float? Scalar, Tensorboard.Summary.Types.Image? Image, string? Text);

    /// <summary>Every summary value of every event file under <paramref name="folder"/>.</summary>
    public static IReadOnlyList<Entry> Read(string folder) =>
        Directory.GetFiles(folder, "events.out.tfevents.*", SearchOption.AllDirectories).Order().SelectMany(ReadFile).ToList();

    private static IEnumerable<Entry> ReadFile(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        var first = true;
        while (reader.BaseStream.Position < reader.BaseStream.Length)
        {
            var lengthBytes = reader.ReadBytes(8);
            Assert.Equal(Masked(TorchSharp.Utils.CRC32C.process(lengthBytes)), reader.ReadUInt32());
            var data = reader.ReadBytes(checked((int)BitConverter.ToUInt64(lengthBytes)));
            Assert.Equal(Masked(TorchSharp.Utils.CRC32C.process(data)), reader.ReadUInt32());
            var entry = Tensorboard.Event.Parser.ParseFrom(data);
            if (first) Assert.Equal("brain.Event:2", entry.FileVersion);
            first = false;
            foreach (var value in entry.Summary?.Value ?? [])
                yield return new Entry(value.Tag, (int)entry.Step, value.ValueCase == Tensorboard.Summary.Types.Value.ValueOneofCase.SimpleValue ? value.SimpleValue : null,
                    value.Image, value.Tensor?.StringVal.Count > 0 ? value.Tensor.StringVal[0].ToStringUtf8() : null);
        }
    }

    /// <summary>TensorFlow's record CRC mask.</summary>
    private static uint Masked(uint crc) => ((crc >> 15) | (crc << 17)) + 0xa282ead8U;
}
