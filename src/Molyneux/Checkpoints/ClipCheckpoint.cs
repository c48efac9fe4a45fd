using Molyneux.Imaging;
using Molyneux.Modeling;
using Molyneux.Runtime;
using Molyneux.Tokenization;
using static TorchSharp.torch;

namespace Molyneux.Checkpoints;

/// <summary>What to do where a checkpoint leaves something open.</summary>
public sealed record ClipLoadOptions
{
    /// <summary>A HF config.json or an open_clip model config, for weight files that come without one; or the name of a
    /// shipped preset (<see cref="ClipConfig.FromFileOrPreset"/>).</summary>
    public string? ConfigPath { get; init; }

    /// <summary>Head counts for weight files without any config: they cannot be read from tensor shapes, and
    /// OpenAI's own guess (width / 64) is wrong for models whose heads are not 64 wide.</summary>
    public int? TextHeads { get; init; }

    public int? VisionHeads { get; init; }

    /// <summary>A folder with vocab.json + merges.txt, or a bpe_simple_vocab_16e6.txt.gz, when the checkpoint has none.</summary>
    public string? TokenizerPath { get; init; }

    public ComputeDevice Device { get; init; } = ComputeDevice.Cpu;

    /// <summary>Interpolates the position embeddings so the model takes images of this size.</summary>
    public int? ImageSize { get; init; }
}

/// <summary>Where a loaded model came from, for <c>molyneux info</c> and for reports.</summary>
public sealed record CheckpointSource(string Path, string WeightsPath, string Layout, string Naming, IReadOnlyList<string> Notes);

/// <summary>Reads and writes CLIP checkpoints: a Hugging Face <c>CLIPModel</c> directory, an open_clip hub
/// directory (open_clip_config.json + open_clip_model.safetensors), or a single safetensors file (optionally
/// gzip-compressed) in HF or OpenAI naming. Loading is strict: every missing, unexpected or mis-shaped tensor is
/// reported by name.</summary>
public static class ClipCheckpoint
{
    private static readonly string[] HfWeightNames = ["model.safetensors", "model.safetensors.gz", SafetensorsWeights.IndexFileName];
    private const string OpenClipWeights = "open_clip_model.safetensors";
    private const string OpenClipConfig = "open_clip_config.json";

    public static ClipPipeline Load(string path, ClipLoadOptions? options = null)
    {
        options ??= new ClipLoadOptions();
        var notes = new List<string>();
        var (weightsPath, configPath, layout) = LocateFiles(path, options);
        using var file = SafetensorsWeights.Open(weightsPath);
        var openAiNaming = OpenAiClipNaming.LooksLikeOpenAiNaming(file.Entries.Keys);
        var config = configPath is not null
            ? ReadConfig(configPath)
            : InferConfig(file, openAiNaming, weightsPath, options, notes);
        RequireEnoughValues(file, config, weightsPath, configPath);
        var model = new ClipModel(config);
        LoadWeights(model, file, openAiNaming, weightsPath);
        if (options.ImageSize is { } imageSize && imageSize != config.Vision.ImageSize)
        {
            notes.Add($"position embeddings interpolated from {config.Vision.ImageSize} to {imageSize} px");
            model.ResizeImageInput(imageSize);
        }
        var tokenizer = LoadTokenizer(path, options, config, notes);
        var folder = Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path))!;
        var preprocessorPath = Path.Combine(folder, ClipImageProcessor.FileName);
        var processor = Directory.Exists(path) && File.Exists(preprocessorPath)
            ? ClipImageProcessor.FromFile(preprocessorPath)
            : ClipImageProcessor.Default(model.Config.Vision.ImageSize);
        if (options.ImageSize is { } size) processor = processor.WithImageSize(size);
        var source = new CheckpointSource(Path.GetFullPath(path), Path.GetFullPath(weightsPath), layout,
            openAiNaming ? "openai" : "huggingface", notes);
        return new ClipPipeline(model, tokenizer, processor, options.Device, source);
    }

    /// <summary>Saves a HF <c>CLIPModel</c> directory (config.json, model.safetensors, the tokenizer's files — vocab.json,
    /// merges.txt, tokenizer_config.json, special_tokens_map.json, added_tokens.json when words were added — and
    /// preprocessor_config.json), complete or not at all.</summary>
    public static void SaveHuggingFace(ClipPipeline clip, string directory, bool overwrite = false) =>
        AtomicFile.WriteDirectory(directory, overwrite, folder => WriteHuggingFaceFiles(clip, folder));

    /// <summary>Writes the files of a HF <c>CLIPModel</c> directory into an existing folder (which a caller building
    /// a larger directory atomically has made).</summary>
    public static void WriteHuggingFaceFiles(ClipPipeline clip, string folder)
    {
        clip.Model.Config.Save(Path.Combine(folder, "config.json"));
        SafetensorsFile.Write(Path.Combine(folder, "model.safetensors"), StateDict(clip.Model),
            new Dictionary<string, string> { ["format"] = "pt" });
        clip.Tokenizer.SaveHuggingFaceFiles(folder, clip.Model.Config.Text.MaxPositionEmbeddings);
        clip.ImageProcessor.Save(Path.Combine(folder, ClipImageProcessor.FileName));
    }

    /// <summary>Saves the weights alone in OpenAI/open_clip naming, for OpenAI's <c>CLIP</c> class or open_clip;
    /// refused, with the reason, for a model whose vocabulary goes on past end-of-text (see
    /// <see cref="RequireOpenAiPooling"/>).</summary>
    public static void SaveOpenAi(ClipPipeline clip, string path)
    {
        RequireOpenAiPooling(clip.Model.Config.Text, path, clip.Tokenizer.AddedWords.Select(word => $"\"{word.Text}\" ({word.Id})").ToList());
        SaveOpenAi(clip.Model, path);
    }

    /// <inheritdoc cref="SaveOpenAi(ClipPipeline, string)"/>
    public static void SaveOpenAi(ClipModel model, string path)
    {
        RequireOpenAiPooling(model.Config.Text, path, []);
        var hfTensors = StateDict(model).ToDictionary();
        SafetensorsFile.Write(path, OpenAiClipNaming.FromHuggingFace(hfTensors), new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>OpenAI's <c>CLIP.encode_text</c> (and open_clip's) pools the text at <c>argmax(ids)</c>, which is
    /// end-of-text only while no id is larger. A model with ids past it (a taught concept's token, added after the
    /// vocabulary) would be pooled at that token in every prompt that uses it, silently giving other features than
    /// Molyneux's, so the export is refused. Reordering the ids instead cannot help: OpenAI's tokenizer has neither
    /// the word nor another id for end-of-text. A model that pools at argmax itself (eos_token_id 2, the legacy
    /// config) is exported as it is, since it already computes what OpenAI's code will.</summary>
    private static void RequireOpenAiPooling(ClipTextConfig text, string path, IReadOnlyList<string> addedWords)
    {
        if (text.PoolsAtArgmax || text.EosTokenId >= text.VocabSize - 1) return;
        var beyond = text.VocabSize - 1 - text.EosTokenId;
        var named = addedWords.Count > 0 ? $" (the added word{(addedWords.Count == 1 ? "" : "s")} {string.Join(", ", addedWords)})" : "";
        throw new CheckpointException(
            $"{path}: not written: the vocabulary has {beyond} id{(beyond == 1 ? "" : "s")} after end-of-text ({text.EosTokenId}){named}, and OpenAI's CLIP " +
            "pools the text at argmax(ids), which would land on such a token instead of end-of-text, so prompts using it would get " +
            "wrong features. Save the Hugging Face layout instead (convert --naming hf): its config pools at the first end-of-text " +
            "and its tokenizer_config.json declares the added tokens for transformers' CLIPTokenizer.");
    }

    private static IEnumerable<KeyValuePair<string, Tensor>> StateDict(ClipModel model) =>
        model.state_dict().Select(entry => new KeyValuePair<string, Tensor>(entry.Key, entry.Value.detach().cpu()));

    private static (string Weights, string? Config, string Layout) LocateFiles(string path, ClipLoadOptions options)
    {
        if (Directory.Exists(path))
        {
            if (File.Exists(Path.Combine(path, OpenClipWeights)))
                return (Path.Combine(path, OpenClipWeights), options.ConfigPath ?? Path.Combine(path, OpenClipConfig), "open_clip directory");
            var weights = HfWeightNames.Select(name => Path.Combine(path, name)).FirstOrDefault(File.Exists);
            if (weights is null)
            {
                var found = Directory.EnumerateFiles(path).Select(Path.GetFileName).ToArray();
                var hint = found.Any(name => name is "pytorch_model.bin" or "open_clip_pytorch_model.bin")
                    ? " Only pickle weights (.bin) are there; Molyneux never unpickles (it can execute code): convert them to safetensors first."
                    : "";
                throw new CheckpointException($"{path}: no model.safetensors in this folder.{hint}");
            }
            var config = options.ConfigPath ?? Path.Combine(path, "config.json");
            if (options.ConfigPath is null && !File.Exists(config)) throw new CheckpointException($"{path}: no config.json in this HF model folder");
            return (weights, config, weights.EndsWith(".json", StringComparison.Ordinal) ? "huggingface directory (sharded)" : "huggingface directory");
        }
        if (File.Exists(path)) return (path, options.ConfigPath, "safetensors file");
        throw new CheckpointException($"{path}: no such file or folder");
    }

    private static ClipConfig ReadConfig(string configPath)
    {
        if (Path.GetFileName(configPath) != OpenClipConfig) return ClipConfig.FromFileOrPreset(configPath);
        // open_clip's hub config wraps the model config in "model_cfg".
        var modelConfig = ClipConfig.ReadJsonObject(configPath)["model_cfg"] ?? throw new ConfigException($"{configPath}: missing field 'model_cfg'");
        return ClipConfig.Parse(modelConfig, configPath);
    }

    /// <summary>Where the HF tensor <paramref name="hfName"/> is in the file, and how to turn it into the HF tensor;
    /// null when the file lacks it.</summary>
    private static OpenAiClipNaming.Source? Locate(SafetensorsWeights file, string hfName, bool openAiNaming)
    {
        var source = openAiNaming ? OpenAiClipNaming.SourceOf(hfName) : new OpenAiClipNaming.Source(hfName, OpenAiClipNaming.Transform.Copy);
        return source is not null && file.Entries.ContainsKey(source.OpenAiName) ? source : null;
    }

    private static long[]? ShapeOf(SafetensorsWeights file, string hfName, bool openAiNaming) =>
        Locate(file, hfName, openAiNaming) is { } source ? TransformedShape(file.Entries[source.OpenAiName].Shape, source.Transform) : null;

    private static long[] TransformedShape(long[] shape, OpenAiClipNaming.Transform transform) => transform switch
    {
        OpenAiClipNaming.Transform.Transpose when shape.Length == 2 => [shape[1], shape[0]],
        OpenAiClipNaming.Transform.FirstThird or OpenAiClipNaming.Transform.SecondThird or OpenAiClipNaming.Transform.LastThird
            when shape.Length >= 1 => [shape[0] / 3, .. shape[1..]],
        _ => shape,
    };

    /// <summary>Reads a config off the tensor shapes, as OpenAI's build_model does. Head counts are the one thing
    /// shapes cannot tell: they come from the options, else OpenAI's width / 64, which the notes flag.</summary>
    private static ClipConfig InferConfig(SafetensorsWeights file, bool openAiNaming, string weightsPath, ClipLoadOptions options, List<string> notes)
    {
        long[] Shape(string hfName) => ShapeOf(file, hfName, openAiNaming)
            ?? throw new CheckpointException($"{weightsPath}: cannot infer the model's shape: tensor for '{hfName}' is missing " +
                                             "(pass a config.json or open_clip config with --config)");
        int CountLayers(string tower)
        {
            var count = 0;
            while (ShapeOf(file, $"{tower}.encoder.layers.{count}.layer_norm1.weight", openAiNaming) is not null) count++;
            return count;
        }
        int Heads(int? given, int width, string tower)
        {
            if (given is { } heads) return heads;
            notes.Add($"{tower} heads guessed as width/64 = {Math.Max(1, width / 64)} (no config; pass --config or --{tower}-heads if that is wrong)");
            return Math.Max(1, width / 64);
        }
        var tokenEmbedding = Shape("text_model.embeddings.token_embedding.weight");
        var textWidth = (int)tokenEmbedding[1];
        var visionWidth = (int)Shape("vision_model.embeddings.class_embedding")[0];
        var patch = Shape("vision_model.embeddings.patch_embedding.weight");
        var grid = (int)Math.Round(Math.Sqrt(Shape("vision_model.embeddings.position_embedding.weight")[0] - 1));
        notes.Add("config inferred from tensor shapes");
        return new ClipConfig(
            new ClipTextConfig(
                VocabSize: (int)tokenEmbedding[0],
                HiddenSize: textWidth,
                IntermediateSize: (int)Shape("text_model.encoder.layers.0.mlp.fc1.weight")[0],
                NumAttentionHeads: Heads(options.TextHeads, textWidth, "text"),
                NumHiddenLayers: CountLayers("text_model"),
                MaxPositionEmbeddings: (int)Shape("text_model.embeddings.position_embedding.weight")[0]),
            new ClipVisionConfig(
                HiddenSize: visionWidth,
                IntermediateSize: (int)Shape("vision_model.encoder.layers.0.mlp.fc1.weight")[0],
                NumAttentionHeads: Heads(options.VisionHeads, visionWidth, "vision"),
                NumHiddenLayers: CountLayers("vision_model"),
                ImageSize: (int)patch[^1] * grid,
                PatchSize: (int)patch[^1]),
            ProjectionDim: (int)Shape("visual_projection.weight")[0]);
    }

    /// <summary><see cref="LoadWeights"/> reports a configuration that disagrees with the weights tensor by tensor,
    /// but only after allocating the model, and a corrupt size (a layer count of 2³¹) would exhaust memory first. A
    /// configuration describing more than twice the values the file holds cannot belong to it and is refused here;
    /// closer ones still get the detailed report, at a bounded cost.</summary>
    private static void RequireEnoughValues(SafetensorsWeights file, ClipConfig config, string weightsPath, string? configPath)
    {
        var stored = file.Entries.Values.Sum(entry => (double)(entry.End - entry.Begin) / entry.DType.ByteSize());
        if (config.ParameterCount > 2 * stored)
            throw new CheckpointException($"{weightsPath}: does not fit the model: the configuration{(configPath is null ? "" : $" {configPath}")} " +
                                          $"describes {config.ParameterCount:N0} parameters, but the file holds only {stored:N0} values");
    }

    /// <summary>Copies every parameter from the file, after checking that the file has exactly the model's tensors
    /// with the model's shapes; all problems are reported together, by name.</summary>
    private static void LoadWeights(ClipModel model, SafetensorsWeights file, bool openAiNaming, string weightsPath)
    {
        var parameters = model.named_parameters().ToList();
        var missing = new List<string>();
        var misShaped = new List<string>();
        var notFloat = new List<string>();
        var used = new HashSet<string>();
        foreach (var (name, parameter) in parameters)
        {
            if (Locate(file, name, openAiNaming) is not { } source)
            {
                missing.Add(openAiNaming && OpenAiClipNaming.SourceOf(name) is { } wanted ? $"{name} (from {wanted.OpenAiName})" : name);
                continue;
            }
            used.Add(source.OpenAiName);
            var entry = file.Entries[source.OpenAiName];
            var shape = TransformedShape(entry.Shape, source.Transform);
            if (!shape.SequenceEqual(parameter.shape))
                misShaped.Add($"{source.OpenAiName}: file [{string.Join(", ", shape)}], model [{string.Join(", ", parameter.shape)}]");
            // Any float type converts to the model's, but integers or booleans where a weight belongs mean a corrupt
            // or unrelated file, whose values would load silently as whole numbers.
            if (!IsFloatingPoint(entry.DType))
                notFloat.Add($"{source.OpenAiName} ({entry.DType})");
        }
        var unexpected = file.Entries.Keys
            .Where(name => !used.Contains(name) && !IsIgnorable(name, openAiNaming))
            .Order(StringComparer.Ordinal).ToList();
        if (missing.Count + misShaped.Count + notFloat.Count + unexpected.Count > 0)
            throw new CheckpointException($"{weightsPath}: does not fit the model: " + string.Join("; ", new[]
            {
                ModuleWeights.Describe("missing", missing), ModuleWeights.Describe("unexpected", unexpected),
                ModuleWeights.Describe("with the wrong shape", misShaped), ModuleWeights.Describe("not floating point", notFloat),
            }.Where(part => part.Length > 0)));
        using var _ = no_grad();
        foreach (var (name, parameter) in parameters)
        {
            using var scope = NewDisposeScope();
            var source = Locate(file, name, openAiNaming)!;
            var stored = file.Read(source.OpenAiName);
            parameter.copy_(OpenAiClipNaming.ToHuggingFace(stored, source.Transform).to(parameter.dtype));
        }
    }

    private static bool IsFloatingPoint(SafetensorsDType dtype) =>
        dtype is SafetensorsDType.F64 or SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16;

    /// <summary>Older HF exports store position_ids buffers; OpenAI files may carry the model's sizes as ints.</summary>
    private static bool IsIgnorable(string name, bool openAiNaming) =>
        name.EndsWith("position_ids", StringComparison.Ordinal) || (openAiNaming && OpenAiClipNaming.NonParameterEntries.Contains(name));

    private static ClipTokenizer LoadTokenizer(string path, ClipLoadOptions options, ClipConfig config, List<string> notes)
    {
        ClipTokenizer tokenizer;
        if (options.TokenizerPath is { } given)
            tokenizer = File.Exists(given) ? ClipTokenizer.FromOpenAiBpe(given) : ClipTokenizer.FromFolder(given);
        else if (Directory.Exists(path) && File.Exists(Path.Combine(path, "vocab.json")))
            tokenizer = ClipTokenizer.FromFolder(path);
        else
        {
            tokenizer = ClipTokenizer.OpenAiDefault();
            notes.Add("tokenizer: OpenAI's CLIP BPE vocabulary (none beside the weights)");
        }
        if (tokenizer.VocabularySize != config.Text.VocabSize)
            throw new TokenizerException($"{path}: the tokenizer has {tokenizer.VocabularySize} tokens but the model's vocab_size is " +
                                         $"{config.Text.VocabSize}; pass the model's own vocabulary with --tokenizer");
        return tokenizer;
    }
}
