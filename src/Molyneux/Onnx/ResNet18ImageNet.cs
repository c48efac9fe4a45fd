using System.Security.Cryptography;
using Molyneux.Asif;
using Molyneux.Runtime;

namespace Molyneux.Onnx;

/// <summary>ImageNet-trained ResNet18 as a TorchSharp image tower: the CNTK export ResNet18.onnx and its preprocessing
/// ResNetPreprocess.onnx from the Microsoft.ML.DnnImageFeaturizer.ResNet18 NuGet package (MIT), which the build copies
/// into a DnnImageModels folder next to the assembly (the package's build/…props does so for the library, and
/// MSBuild passes the files on to every project referencing it), so nothing is downloaded at run time. The weights are
/// mapped by graph structure (<see cref="OnnxResNetImport"/>); the embedding of an image is the 512 pooled features,
/// the graph's output Pooling395_Output_0. Despite its name, this CNTK model has three blocks in its last stage
/// (stages [2, 2, 2, 3], 22 convolutions, 15.9 M parameters) where torchvision's ResNet18 has two; the tower is built
/// with the stages the graph has.</summary>
public static class ResNet18ImageNet
{
    public const string PackageId = "Microsoft.ML.DnnImageFeaturizer.ResNet18";
    public const string ModelsFolderName = "DnnImageModels";
    public static readonly string ModelFile = Path.Combine("ResNet18Onnx", "ResNet18.onnx");
    public static readonly string PreprocessFile = Path.Combine("ResNetPrepOnnx", "ResNetPreprocess.onnx");

    /// <summary>The DnnImageModels folder next to the Molyneux assembly.</summary>
    public static string DefaultModelsFolder
    {
        get
        {
            var assembly = typeof(ResNet18ImageNet).Assembly.Location;
            return Path.Combine(assembly.Length > 0 ? Path.GetDirectoryName(assembly)! : AppContext.BaseDirectory, ModelsFolderName);
        }
    }

    public static string ModelPath(string modelsFolder) => Path.Combine(modelsFolder, ModelFile);

    public static string PreprocessPath(string modelsFolder) => Path.Combine(modelsFolder, PreprocessFile);

    /// <summary>The encoder from the DnnImageModels folder next to the assembly, on the CPU (or <paramref name="device"/>).</summary>
    public static ResNetImageEncoder Load(ComputeDevice? device = null) => Load(DefaultModelsFolder, device);

    /// <summary>The encoder from a folder laid out as the package's DnnImageModels (ResNet18Onnx/ResNet18.onnx,
    /// ResNetPrepOnnx/ResNetPreprocess.onnx). Its identity is the SHA-256 of the two files.</summary>
    public static ResNetImageEncoder Load(string modelsFolder, ComputeDevice? device = null)
    {
        device ??= ComputeDevice.Cpu;
        var modelBytes = ReadFile(ModelPath(modelsFolder));
        var preprocessBytes = ReadFile(PreprocessPath(modelsFolder));

        ResNetImageProcessor processor;
        using (var file = OnnxModelFile.Read(preprocessBytes, PreprocessPath(modelsFolder)))
            processor = ResNetImageProcessor.FromOnnx(file);
        ResNetModel model;
        try
        {
            if (processor.Height != processor.Width || processor.Height % ResNetConfig.Downsampling != 0)
                throw new CheckpointException($"{PreprocessPath(modelsFolder)}: the mean image is {processor.Width}×{processor.Height} px; the tower needs a square whose side is a multiple of {ResNetConfig.Downsampling}");
            using var file = OnnxModelFile.Read(modelBytes, ModelPath(modelsFolder));
            model = OnnxResNetImport.Import(file, processor.Height);
        }
        catch
        {
            processor.Dispose();
            throw;
        }
        EncoderFolder.ToDevice(model, device);

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(modelBytes);
        hash.AppendData(preprocessBytes);
        return new ResNetImageEncoder(model, processor, device, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private static byte[] ReadFile(string path)
    {
        if (!File.Exists(path))
            throw new CheckpointException($"{path}: not found. ResNet18's ONNX files come with the build: the {PackageId} NuGet " +
                                          $"package copies its {ModelsFolderName} folder next to Molyneux.dll; restore and build again, or load from a folder holding that folder's content");
        return File.ReadAllBytes(path);
    }
}
