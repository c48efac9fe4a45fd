using Molyneux.Onnx;

namespace Molyneux.Tests.Onnx;

/// <summary>ResNet18ImageNet refuses missing, damaged and foreign files with a message naming the file and the problem.</summary>
public sealed class ResNet18LoadTests
{
    [Fact]
    public void A_truncated_ResNet18_onnx_is_refused_by_name()
    {
        using var folder = CopyOfModels();
        var model = ResNet18ImageNet.ModelPath(folder.Path);
        File.WriteAllBytes(model, File.ReadAllBytes(ResNet18ImageNet.ModelPath(ResNet18ImageNet.DefaultModelsFolder))[..1_000_000]);
        var error = Assert.Throws<CheckpointException>(() => ResNet18ImageNet.Load(folder.Path));
        Assert.Contains(model, error.Message);
        Assert.Contains("not a complete ONNX model", error.Message);
    }

    [Fact]
    public void A_graph_that_is_not_a_resnet_is_refused_with_what_was_not_found()
    {
        using var folder = CopyOfModels();
        var model = ResNet18ImageNet.ModelPath(folder.Path);
        File.Copy(ResNet18ImageNet.PreprocessPath(folder.Path), model, overwrite: true);
        var error = Assert.Throws<CheckpointException>(() => ResNet18ImageNet.Load(folder.Path));
        Assert.Contains($"{model}: not a ResNet export Molyneux can map: no 7×7 Conv reads the image input", error.Message);
    }

    [Fact]
    public void A_missing_models_folder_names_the_file_and_the_package()
    {
        using var folder = new TestPaths.TempFolder();
        var error = Assert.Throws<CheckpointException>(() => ResNet18ImageNet.Load(folder.Path));
        Assert.Contains(ResNet18ImageNet.ModelPath(folder.Path), error.Message);
        Assert.Contains(ResNet18ImageNet.PackageId, error.Message);
    }

    [Fact]
    public void The_build_copies_the_packages_models_next_to_the_library()
    {
        Assert.True(File.Exists(ResNet18ImageNet.ModelPath(ResNet18ImageNet.DefaultModelsFolder)));
        Assert.True(File.Exists(ResNet18ImageNet.PreprocessPath(ResNet18ImageNet.DefaultModelsFolder)));
    }

    /// <summary>A temporary DnnImageModels folder: the real preprocessing, and a ResNet18Onnx folder to fill.</summary>
    private static TestPaths.TempFolder CopyOfModels()
    {
        var folder = new TestPaths.TempFolder();
        var preprocess = ResNet18ImageNet.PreprocessPath(folder.Path);
        Directory.CreateDirectory(Path.GetDirectoryName(preprocess)!);
        Directory.CreateDirectory(Path.GetDirectoryName(ResNet18ImageNet.ModelPath(folder.Path))!);
        File.Copy(ResNet18ImageNet.PreprocessPath(ResNet18ImageNet.DefaultModelsFolder), preprocess);
        return folder;
    }
}
