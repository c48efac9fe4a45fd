using Molyneux.Onnx;

namespace Molyneux.Tests.Onnx;

/// <summary>The ONNX reader refuses damaged files with a message that names the file and what is wrong.</summary>
public sealed class OnnxModelFileTests
{
    [Fact]
    public void A_truncated_model_is_refused_by_name()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("truncated.onnx");
        File.WriteAllBytes(path, MiniLm.ReadResource(MiniLm.ModelResource)[..4096]);
        var error = Assert.Throws<CheckpointException>(() => OnnxModelFile.Read(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("not a complete ONNX model", error.Message);
    }

    [Fact]
    public void Garbage_bytes_are_refused_by_name()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("garbage.onnx");
        var bytes = new byte[10_000];
        new Random(19).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<CheckpointException>(() => OnnxModelFile.Read(path));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void A_missing_file_is_refused_by_name()
    {
        var error = Assert.Throws<CheckpointException>(() => OnnxModelFile.Read("/nonexistent/model.onnx"));
        Assert.Contains("/nonexistent/model.onnx: no such file", error.Message);
    }
}
