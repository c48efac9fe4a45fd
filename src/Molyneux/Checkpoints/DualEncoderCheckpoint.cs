using Molyneux.Asif;
using Molyneux.Modeling;
using Molyneux.Onnx;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Checkpoints;

/// <summary>Reads and writes a <see cref="VisionTextDualEncoderModel"/> as a Hugging Face folder: config.json
/// (<see cref="DualEncoderConfig"/>), model.safetensors under HF's names (<c>vision_model.</c> and <c>text_model.</c>
/// in each tower's own naming, a ResNet's BatchNorm running statistics included, <c>visual_projection.weight</c>,
/// <c>text_projection.weight</c>, <c>logit_scale</c>; read sharded too), the text tower's tokenizer files (vocab.txt
/// for a BERT, vocab.json + merges.txt for CLIP's) and the image tower's processor (preprocessor_config.json, and a
/// ResNet's mean image). Loading is strict: every missing, unexpected or mis-shaped tensor is named.</summary>
public static class DualEncoderCheckpoint
{
    /// <summary>A dual encoder of the two pretrained towers that come with the build, ImageNet ResNet18 and
    /// all-MiniLM-L6-v2, joined by fresh projections (seeded) into a space of <paramref name="projectionDim"/>.</summary>
    public static DualEncoderPipeline FromBuiltInTowers(int projectionDim, long seed, ComputeDevice? device = null) =>
        FromTowers(UnimodalEncoders.ResNet18ImageNetName, UnimodalEncoders.MiniLmName, projectionDim, seed, device);

    /// <summary>A dual encoder of two pretrained towers (<see cref="DualEncoderTowers.LoadImageTower"/> and
    /// <see cref="DualEncoderTowers.LoadTextTower"/> say which sources), joined by fresh projections (seeded) into a
    /// space of <paramref name="projectionDim"/>.</summary>
    public static DualEncoderPipeline FromTowers(string imageSource, string textSource, int projectionDim, long seed, ComputeDevice? device = null)
    {
        device ??= ComputeDevice.Cpu;
        var image = DualEncoderTowers.LoadImageTower(imageSource);
        var text = DualEncoderTowers.LoadTextTower(textSource);
        var config = new DualEncoderConfig(image.Config, text.Config, projectionDim);
        var model = new VisionTextDualEncoderModel(config, image.Tower, text.Tower);
        // Seeded so that a recipe reproduces. The image projection as CLIP initialises one, N(0, width^-1/2); the text
        // projection an isometry of the text tower's space (orthonormal columns, or rows when it narrows), so that
        // alignment that keeps it (--train image-projection) keeps the text tower's cosines as they are.
        using var generator = new Generator((ulong)seed);
        using (no_grad())
        {
            var visual = model.visual_projection.weight!;
            visual.normal_(0, Math.Pow(visual.shape[1], -0.5), generator);
            using var scope = NewDisposeScope();
            var textWeight = model.text_projection.weight!;
            var (outputs, inputs) = (textWeight.shape[0], textWeight.shape[1]);
            var gaussian = randn([Math.Max(outputs, inputs), Math.Min(outputs, inputs)], generator: generator);
            var (orthonormal, _) = linalg.qr(gaussian);
            textWeight.copy_(outputs >= inputs ? orthonormal : orthonormal.t());
        }
        return new DualEncoderPipeline(model, text.Tokenizer, image.Processor, device);
    }

    /// <summary>Saves a complete folder or nothing.</summary>
    public static void Save(DualEncoderPipeline pipeline, string directory, bool overwrite = false) =>
        AtomicFile.WriteDirectory(directory, overwrite, folder => WriteFiles(pipeline, folder));

    /// <summary>Writes the folder's files into an existing folder.</summary>
    public static void WriteFiles(DualEncoderPipeline pipeline, string folder)
    {
        pipeline.Model.Config.Save(Path.Combine(folder, HfConfigFile.FileName));
        ModuleWeights.Save(pipeline.Model, Path.Combine(folder, EncoderFolder.WeightsFile), name => HuggingFaceName(pipeline.Model, name), withBuffers: true);
        pipeline.Tokenizer.SaveTo(folder, pipeline.ContextLength);
        pipeline.ImageProcessor.SaveTo(folder);
    }

    /// <summary>The file of <see cref="SaveProjections"/>: what alignment of the built-in towers with
    /// <c>--train projections</c> changes, and all a shipped model needs besides the build's towers.</summary>
    public const string ProjectionsFile = "projections.safetensors";

    /// <summary>The projections and the temperature under their HF names (the module's own).</summary>
    private static (string Name, Tensor Tensor)[] Projections(VisionTextDualEncoderModel model) =>
        [("visual_projection.weight", model.visual_projection.weight!), ("text_projection.weight", model.text_projection.weight!), ("logit_scale", model.logit_scale)];

    /// <summary>Writes the projections and the temperature alone (2 MB for the built-in towers at 512), so that a model
    /// whose towers come from the build ships as this file.</summary>
    public static void SaveProjections(DualEncoderPipeline pipeline, string path) => ModuleWeights.SavePart(path, Projections(pipeline.Model));

    /// <summary>Replaces the projections and the temperature by those of a <see cref="SaveProjections"/> file; a missing
    /// tensor or one of another shape is named with the file.</summary>
    public static void LoadProjections(DualEncoderPipeline pipeline, string path)
    {
        ModuleWeights.LoadPart(path, Projections(pipeline.Model));
        pipeline.WeightsChanged();
    }

    public static bool IsDualEncoderFolder(string path) =>
        Directory.Exists(path) && File.Exists(Path.Combine(path, HfConfigFile.FileName))
                               && HfConfigFile.ReadObject(Path.Combine(path, HfConfigFile.FileName))["model_type"]?.ToString() == DualEncoderConfig.ModelType;

    public static DualEncoderPipeline Load(string folder, ComputeDevice? device = null)
    {
        device ??= ComputeDevice.Cpu;
        var config = DualEncoderConfig.FromFile(Path.Combine(folder, HfConfigFile.FileName));
        var tokenizer = DualEncoderTowers.ReadTokenizer(config.Text, folder);
        if (tokenizer.VocabularySize > config.Text.VocabSize)
            throw new TokenizerException($"{folder}: the tokenizer has {tokenizer.VocabularySize} tokens, more than text_config.vocab_size {config.Text.VocabSize}");
        var processor = DualEncoderTowers.ReadProcessor(config.Vision, folder);
        if (processor.ImageSize != config.ImageSize)
        {
            processor.Dispose();
            throw new ConfigException($"{folder}: the image processor gives {processor.ImageSize} px images but vision_config.image_size is {config.ImageSize}");
        }
        var model = new VisionTextDualEncoderModel(config);
        // model.safetensors, or a sharded checkpoint's index; EncoderFolder says what is wrong when there is neither.
        var weights = SafetensorsWeights.FindInFolder(folder) ?? EncoderFolder.WeightsPath(folder);
        try
        {
            ModuleWeights.Load(model, weights, name => HuggingFaceName(model, name), isIgnorable: name => IsIgnorable(model, name), withBuffers: true);
        }
        catch
        {
            model.Dispose();
            processor.Dispose();
            throw;
        }
        var source = new CheckpointSource(Path.GetFullPath(folder), Path.GetFullPath(weights), "huggingface directory", "huggingface", []);
        return new DualEncoderPipeline(model, tokenizer, processor, device, source);
    }

    private const string VisionPrefix = "vision_model.", TextPrefix = "text_model.";

    /// <summary>The name in model.safetensors of a module parameter or buffer: each tower's own naming under its prefix.</summary>
    public static string HuggingFaceName(VisionTextDualEncoderModel model, string moduleName) => moduleName switch
    {
        _ when moduleName.StartsWith(VisionPrefix, StringComparison.Ordinal) => VisionPrefix + model.vision_model.HuggingFaceName(moduleName[VisionPrefix.Length..]),
        _ when moduleName.StartsWith(TextPrefix, StringComparison.Ordinal) => TextPrefix + model.text_model.HuggingFaceName(moduleName[TextPrefix.Length..]),
        _ => moduleName,
    };

    private static bool IsIgnorable(VisionTextDualEncoderModel model, string fileName) => fileName switch
    {
        _ when fileName.StartsWith(VisionPrefix, StringComparison.Ordinal) => model.vision_model.IsIgnorable(fileName[VisionPrefix.Length..]),
        _ when fileName.StartsWith(TextPrefix, StringComparison.Ordinal) => model.text_model.IsIgnorable(fileName[TextPrefix.Length..]),
        _ => false,
    };
}
