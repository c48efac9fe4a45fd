using System.Buffers.Binary;
using System.IO.Compression;
using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Tests.Checkpoints;
using Molyneux.Tests.Imaging;
using Molyneux.Tokenization;
using SkiaSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Molyneux.Tests.Cli;

/// <summary>The catalogue of bad inputs of docs/reliability.md, each through the real CLI: one line on stderr that
/// names the file, field or option, exit code 1, no stack trace, nothing on stdout, and no output file or folder
/// (not even a partial one). Each run prints its row of the document's table, so the table can be regenerated:
/// <c>dotnet test --filter FullyQualifiedName~BadInputCatalogue --logger "console;verbosity=detailed"</c>.</summary>
public sealed class BadInputCatalogueTests(ITestOutputHelper output)
{
    private static string ModelA => TestPaths.GoldenClip("model_a/hf");

    /// <summary>A fresh folder for one bad input, and the arguments of the commands that read each kind of file.</summary>
    private sealed class Workspace : IDisposable
    {
        public TestPaths.TempFolder Folder { get; } = new();

        /// <summary>Where a command that writes would put its result; it must not exist afterwards.</summary>
        public string Out => Folder.File("out");

        public string File(string name, byte[] bytes)
        {
            var path = Folder.File(name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            System.IO.File.WriteAllBytes(path, bytes);
            return path;
        }

        public string File(string name, string text) => File(name, System.Text.Encoding.UTF8.GetBytes(text));

        /// <summary>Golden model A as a HF folder with its tensors edited, then its other files edited.</summary>
        public string Model(Func<Dictionary<string, Tensor>, Dictionary<string, Tensor>>? tensors = null, Action<string>? files = null)
        {
            using var scope = NewDisposeScope();
            var folder = ClipCheckpointTests.EditedCopy(Folder, tensors ?? (t => t));
            files?.Invoke(folder);
            return folder;
        }

        public string ModelWithFile(string name, string text) => Model(files: folder => System.IO.File.WriteAllText(Path.Combine(folder, name), text));

        public string[] Convert(string model, params string[] extra) => ["convert", "--model", model, "--out", Out, .. extra];

        public string[] Similarity(string image) => ["similarity", "--model", ModelA, "--image", image, "--text", "a cat"];

        public string[] Pretrain(params string[] extra) => ["pretrain", "--data", "shapes", "--shapes-count", "8", "--out", Out, .. extra];

        public string[] Withhold(string concepts) => Pretrain("--steps", "1", "--withhold", File("concepts.json", concepts));

        public string[] Invert(params string[] extra) =>
            ["invert", "--model", ModelA, "--concepts", File("concepts.json", "[{\"name\": \"quindle\", \"description\": \"a red shape\"}]"), "--out", Out, .. extra];

        public string[] FineTune(string images, params string[] extra) =>
            ["finetune", "--model", ModelA, "--inverted", images, "--out", Out, "--negatives", File("negatives.txt", "a photo of a cat.\n"), .. extra];

        public string[] Classify(params string[] extra)
        {
            File("data/red/a.png", Png(1, 0, 0));
            File("data/blue/a.png", Png(0, 0, 1));
            return ["eval", "classify", "--model", ModelA, "--data", Folder.File("data"), "--json", Out, "--no-cache", .. extra];
        }

        /// <summary>eval segment on one 8 × 8 image of class "red" whose mask is <paramref name="mask"/> (a PNG), or
        /// none.</summary>
        public string[] Segment(byte[]? mask, params string[] extra)
        {
            File("segment/images/red/a.png", Png(1, 0, 0));
            if (mask is not null) File("segment/masks/red/a.png", mask);
            return ["eval", "segment", "--model", ModelA, "--data", Folder.File("segment"), "--method", "blob", "--report", Out, .. extra];
        }

        public void Dispose() => Folder.Dispose();
    }

    private static byte[] Png(float r, float g, float b)
    {
        using var folder = new TestPaths.TempFolder();
        using var image = ones(3, 8, 8) * tensor(new[] { r, g, b }).view(3, 1, 1);
        ImageDecoder.SavePng(folder.File("x.png"), image);
        return File.ReadAllBytes(folder.File("x.png"));
    }

    /// <summary>A square binary mask PNG, all foreground.</summary>
    private static byte[] MaskPng(int side)
    {
        using var folder = new TestPaths.TempFolder();
        new Molyneux.Segmentation.BinaryMask(side, side, Enumerable.Repeat(true, side * side).ToArray()).WritePng(folder.File("m.png"));
        return File.ReadAllBytes(folder.File("m.png"));
    }

    private static byte[] Half(byte[] bytes) => bytes[..(bytes.Length / 2)];

    private static byte[] Noise(SKEncodedImageFormat format)
    {
        var random = new Random(3);
        using var bitmap = new SKBitmap(64, 64);
        for (var y = 0; y < 64; y++)
            for (var x = 0; x < 64; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
        return bitmap.Encode(format, 90).ToArray();
    }

    private static byte[] Gzipped(string path)
    {
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);
        return plain.ToArray();
    }

    private static byte[] GoldenWeights => Gzipped(TestPaths.GoldenClip("model_a/hf/model.safetensors.gz"));

    private static string GoldenConfigWith(string find, string replace) =>
        File.ReadAllText(TestPaths.GoldenClip("model_a/hf/config.json")).Replace(find, replace);

    /// <summary>Each bad input: how to make it in a fresh workspace (the result is the command line), and what the
    /// one-line error must say.</summary>
    private static readonly Dictionary<string, (Func<Workspace, string[]> Arrange, string Expected)> Inputs = new()
    {
        // Checkpoints.
        ["model path that does not exist"] = (w => w.Convert("/nonexistent/model"), "/nonexistent/model: no such file or folder"),
        ["model folder without weights"] = (w => w.Convert(w.Folder.Path), "no model.safetensors in this folder"),
        ["model folder with only pickle weights"] = (w => w.Convert(Path.GetDirectoryName(w.File("m/pytorch_model.bin", [0x80, 0x02]))!), "never unpickles"),
        ["HF folder without config.json"] = (w => w.Convert(w.Model(files: f => File.Delete(Path.Combine(f, "config.json")))), "no config.json in this HF model folder"),
        ["zero-byte .safetensors file"] = (w => w.Convert(w.File("m.safetensors", [])), "shorter than 8 bytes"),
        ["truncated .safetensors file"] = (w => w.Convert(w.File("m.safetensors", Half(GoldenWeights))), "out of range of the data area"),
        ["corrupt gzip-compressed weights"] = (w => w.Convert(w.File("m.safetensors.gz", [0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7])), "corrupt gzip data"),
        ["safetensors header length past the end"] = (w => w.Convert(w.File("m.safetensors", [.. BitConverter.GetBytes(1000L), .. "{}"u8])), "larger than the file"),
        ["safetensors header that is not JSON"] = (w => w.Convert(w.File("m.safetensors", [.. BitConverter.GetBytes(4L), .. "{{{{"u8])), "header is not valid JSON"),
        ["weight stored as integers (wrong dtype)"] = (w => w.Convert(w.Model(t => { t["logit_scale"] = tensor(4L); return t; })), "1 tensor not floating point: logit_scale (I64)"),
        ["weight missing from the file"] = (w => w.Convert(w.Model(t => { t.Remove("text_projection.weight"); return t; })), "1 tensor missing: text_projection.weight"),
        ["weight with the wrong shape"] = (w => w.Convert(w.Model(t => { t["text_model.final_layer_norm.weight"] = zeros(65); return t; })), "text_model.final_layer_norm.weight: file [65], model [64]"),
        ["config.json sizes disagreeing with the weights"] = (w => w.Convert(w.ModelWithFile("config.json", GoldenConfigWith("\"intermediate_size\": 256", "\"intermediate_size\": 512"))), "tensors with the wrong shape"),
        ["config.json describing a model far larger than the weights"] = (w => w.Convert(w.ModelWithFile("config.json", GoldenConfigWith("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 2147483647"))), "parameters, but the file holds only"),
        ["--config file that does not exist"] = (w => w.Convert(TestPaths.GoldenClip("model_a/openai/model.safetensors.gz"), "--config", "/nonexistent/config.json"), "/nonexistent/config.json: file not found"),
        ["--image-size -3"] = (w => w.Convert(ModelA, "--image-size", "-3"), "--image-size: must be a positive integer, got -3"),
        ["--text-heads 0"] = (w => w.Convert(TestPaths.GoldenClip("model_a/openai/model.safetensors.gz"), "--text-heads", "0"), "--text-heads: must be a positive integer, got 0"),
        // Configurations.
        ["config.json that is not JSON"] = (w => w.Convert(w.ModelWithFile("config.json", "{\"text_config\": ")), "not valid JSON"),
        ["config.json without text_config"] = (w => w.Convert(w.ModelWithFile("config.json", "{\"vision_config\": {}}")), "missing field 'text_config'"),
        ["config.json field of the wrong type"] = (w => w.Convert(w.ModelWithFile("config.json", GoldenConfigWith("\"hidden_size\": 64", "\"hidden_size\": \"64\""))), "field 'text_config.hidden_size' must be an integer"),
        ["config.json heads not dividing the width"] = (w => w.Convert(w.ModelWithFile("config.json", GoldenConfigWith("\"num_attention_heads\": 4", "\"num_attention_heads\": 5"))), "text_config.num_attention_heads (5) must divide hidden_size (64)"),
        ["config.json with a key written twice"] = (w => w.Convert(w.ModelWithFile("config.json", GoldenConfigWith("\"projection_dim\": 64,", "\"projection_dim\": 64, \"projection_dim\": 32,"))), "Duplicate"),
        ["preprocessor_config.json with an unsupported resample"] = (w => w.Convert(w.ModelWithFile("preprocessor_config.json", "{\"resample\": 1}")), "resample: PIL filter 1 is not supported"),
        ["preprocessor_config.json that is not JSON"] = (w => w.Convert(w.ModelWithFile("preprocessor_config.json", "{\"size\": ")), "not valid JSON"),
        // Tokenizer files.
        ["vocab.json without merges.txt"] = (w => w.Convert(w.ModelWithFile("vocab.json", "{}")), "has no merges.txt"),
        ["merges.txt line that is not a pair"] = (w => w.Convert(w.Model(files: f => WriteTokenizer(f, merges => merges.Replace("\nt h\n", "\nth\n")))), "merges.txt:"),
        ["vocab.json that is not UTF-8"] = (w => w.Convert(w.Model(files: f => { WriteTokenizer(f); File.WriteAllBytes(Path.Combine(f, "vocab.json"), [.. "{\"caf"u8, 0xE9, .. "\": 0}"u8]); })), "not valid UTF-8"),
        ["tokenizer smaller than the model's vocabulary"] = (w => w.Convert(w.Model(files: f => WriteTokenizer(f))), "the tokenizer has 518 tokens but the model's vocab_size is 49408"),
        ["--tokenizer file that is not gzip"] = (w => w.Convert(ModelA, "--tokenizer", w.File("bpe.txt.gz", "not gzip")), "not a valid gzip file"),
        // Images.
        ["zero-byte image"] = (w => w.Similarity(w.File("empty.png", [])), "the file is empty (0 bytes), not an image"),
        ["truncated PNG"] = (w => w.Similarity(w.File("half.png", Half(Noise(SKEncodedImageFormat.Png)))), "the file is truncated"),
        ["truncated JPEG"] = (w => w.Similarity(w.File("half.jpg", Half(Noise(SKEncodedImageFormat.Jpeg)))), "the file is truncated"),
        ["text file named .png"] = (w => w.Similarity(w.File("notes.png", "just text\n")), "not an image Skia can decode"),
        ["PNG declaring 30000×30000 pixels"] = (w => w.Similarity(w.File("huge.png", ImageTestFiles.PngHeaderOnly(30000, 30000))), "is 30000×30000 pixels, over the limit"),
        ["image that does not exist"] = (w => w.Similarity("/nonexistent.png"), "/nonexistent.png: no such file or folder"),
        ["embed without images or texts"] = (w => ["embed", "--model", ModelA], "nothing to embed"),
        ["embed --pixels of another size than the model takes"] = (w =>
        {
            var pixels = w.File("small.safetensors", "");
            SafetensorsFile.Write(pixels, [new("pixel_values", zeros(1, 3, 8, 8))]);
            return ["embed", "--model", ModelA, "--pixels", pixels];
        }, "small.safetensors: the pixel values are [1, 3, 8, 8]; the model takes [N, 3, "),
        ["image folder without images"] = (w => w.Similarity(Path.GetDirectoryName(w.File("only/notes.txt", "x"))!), "no image files"),
        // Concept files (pretrain --withhold).
        ["concepts file that does not exist"] = (w => w.Pretrain("--steps", "1", "--withhold", "/nonexistent/concepts.json"), "/nonexistent/concepts.json: no such concepts file"),
        ["concepts file that is not JSON"] = (w => w.Withhold("[{\"name\": "), "concepts.json"),
        ["concepts file with no concepts"] = (w => w.Withhold("[]"), "concepts.json: no concepts"),
        ["concept without a description field"] = (w => w.Withhold("[{\"name\": \"quindle\", \"images\": \"emoji:x\"}]"), "description"),
        ["concept with an empty name"] = (w => w.Withhold("[{\"name\": \" \", \"description\": \"a red shape\", \"images\": \"emoji:x\"}]"), "concept 1: \"name\" is empty"),
        ["concept with an empty description"] = (w => w.Withhold("[{\"name\": \"quindle\", \"description\": \"\", \"images\": \"emoji:x\"}]"), "concept 1 ('quindle'): \"description\" is empty"),
        ["concept with both description and descriptions"] = (w => w.Withhold("[{\"name\": \"quindle\", \"description\": \"a\", \"descriptions\": [\"b\"]}]"), "concept 1 ('quindle'): has both \"description\" and \"descriptions\""),
        ["concept images folder outside the concepts file's folder"] = (w => w.Withhold("[{\"name\": \"quindle\", \"description\": \"a\", \"images\": \"../real\"}]"), "concept 1 ('quindle'): images folder '../real' leaves"),
        ["concept listed twice"] = (w => w.Withhold("[{\"name\": \"quindle\", \"description\": \"a\", \"images\": \"emoji:x\"}, {\"name\": \"Quindle\", \"description\": \"b\", \"images\": \"emoji:y\"}]"), "concept 'quindle' is listed 2 times"),
        // Options.
        ["--steps -5"] = (w => w.Pretrain("--steps", "-5"), "--steps: must be positive, got -5"),
        ["--steps 0"] = (w => w.Pretrain("--steps", "0"), "--steps: must be positive, got 0"),
        ["neither --steps nor --minutes"] = (w => w.Pretrain(), "give exactly one of --steps and --minutes"),
        ["--minutes 0"] = (w => w.Pretrain("--minutes", "0"), "--minutes: must be positive, got 0"),
        ["--lr 0"] = (w => w.Pretrain("--steps", "1", "--lr", "0"), "--lr: must be positive, got 0"),
        ["--lr -0.001"] = (w => w.Pretrain("--steps", "1", "--lr", "-0.001"), "--lr: must be positive, got -0.001"),
        ["--batch-size 1"] = (w => w.Pretrain("--steps", "1", "--batch-size", "1"), "--batch-size: must be at least 2"),
        ["--vocab-size 100"] = (w => w.Pretrain("--steps", "1", "--vocab-size", "100"), "--vocab-size: must be at least 520"),
        ["--device tpu"] = (w => w.Pretrain("--steps", "1", "--device", "tpu"), "--device: unknown value 'tpu'"),
        ["--device cuda:3 without CUDA"] = (w => w.Convert(ModelA, "--device", "cuda:3"), "--device: 'cuda:3'"),
        ["--dtype fp8"] = (w => w.Convert(ModelA, "--dtype", "fp8"), "--dtype: unknown value 'fp8'"),
        ["--data that is no data set"] = (w => ["pretrain", "--data", "/nonexistent/captions.jsonl", "--steps", "1", "--out", w.Out], "is not emoji, shapes, shapes-plain or an existing captions file"),
        ["invert --steps -5"] = (w => w.Invert("--steps", "-5"), "--steps: must be positive, got -5"),
        ["invert --save-every -1"] = (w => w.Invert("--save-every", "-1"), "--save-every: must not be negative, got -1"),
        ["finetune --steps -2"] = (w => w.FineTune(w.Folder.Path, "--steps", "-2"), "--steps: must be at least 1, got -2"),
        ["finetune --lr 0"] = (w => w.FineTune(w.Folder.Path, "--lr", "0"), "--lr: must be positive, got 0"),
        ["finetune --distill -1"] = (w => w.FineTune(w.Folder.Path, "--distill", "-1"), "--distill: must be a finite weight of at least 0, got -1"),
        // Knowledge Transfer inputs.
        ["finetune --inverted folder that does not exist"] = (w => w.FineTune("/nonexistent/inverted"), "/nonexistent/inverted: no such folder (expected one written by molyneux invert)"),
        ["finetune --inverted folder without inverted.json"] = (w => w.FineTune(Path.GetDirectoryName(w.File("inverted/a.png", Png(1, 0, 0)))!), "no inverted.json in this folder; is it a folder written by molyneux invert?"),
        ["inverted.json that is not JSON"] = (w => w.FineTune(Path.GetDirectoryName(w.File("inverted/inverted.json", "{\"concepts\": "))!), "inverted.json: not a valid manifest of inverted images"),
        // Evaluation inputs.
        ["--templates that is neither built in nor a file"] = (w => w.Classify("--templates", "knowledge_transfer_guess"), "is neither a built-in template set"),
        ["templates file line without a placeholder"] = (w => w.Classify("--templates", w.File("templates.txt", "a photo of a {}\na photo\n")), "line 2: template 'a photo' has no {} or {c} placeholder"),
        ["descriptions file that is not JSON"] = (w => w.Classify("--descriptions", w.File("descriptions.json", "{\"red\": [")), "invalid JSON"),
        ["classes.json naming a missing folder"] = (w => { w.File("data/classes.json", "{\"green\": \"green things\"}"); return w.Classify(); }, "names class folder 'green', which does not exist"),
        // Segmentation inputs.
        ["image without a mask"] = (w => w.Segment(null), "a.png: has no mask (expected"),
        ["mask of another size than its image"] = (w => w.Segment(MaskPng(4)), "masks/red/a.png: the mask is 4×4 but its image"),
        ["mask that is not binary"] = (w => w.Segment(Png(0.5f, 0.5f, 0.5f)), "masks/red/a.png: not a binary mask"),
        ["segmentation prompt longer than the context"] = (w => w.Segment(MaskPng(8), "--prompts", w.File("prompts.json", $"{{\"red\": \"{string.Join(' ', Enumerable.Repeat("red", 80))}\"}}")),
            "prompts.json: the prompt of class 'red' has 82 tokens, more than the model's context of 77"),
        ["saliency --text longer than the context"] = (w => ["saliency", "--model", ModelA, "--image", w.File("a.png", Png(1, 0, 0)), "--text", string.Join(' ', Enumerable.Repeat("red", 80)), "--out", w.Out],
            "--text: has 82 tokens, more than the model's context of 77"),
        ["captions file that does not exist"] = (w => ["eval", "retrieve", "--model", ModelA, "--captions", "/nonexistent/captions.jsonl", "--json", w.Out, "--no-cache"], "captions file not found"),
    };

    /// <summary>A tokenizer folder's files with 4 merges (518 tokens), its merges.txt edited.</summary>
    private static void WriteTokenizer(string folder, Func<string, string>? editMerges = null)
    {
        ClipTokenizer.FromMerges([("i", "n"), ("t", "h"), ("th", "e</w>"), ("a", "t</w>")]).SaveHuggingFaceFiles(folder);
        var merges = Path.Combine(folder, "merges.txt");
        File.WriteAllText(merges, (editMerges ?? (text => text))(File.ReadAllText(merges)));
    }

    public static TheoryData<string> Names => new(Inputs.Keys);

    /// <summary>Commands that write a folder leave an existing one as it was unless given --overwrite (convert:
    /// <see cref="FoundationCommandTests.Convert_writes_a_directory_that_loads_back"/>).</summary>
    [Theory]
    [InlineData("pretrain", "--data", "shapes", "--shapes-count", "8", "--steps", "1")]
    [InlineData("data", "shapes", "--count", "2")]
    public void Existing_output_is_kept_without_overwrite(params string[] command)
    {
        using var workspace = new Workspace();
        var kept = workspace.File("out/keep.txt", "earlier results");

        var result = CliRunner.Run([.. command, "--out", workspace.Out]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("already exists (pass --overwrite to replace it)", result.Error);
        Assert.Equal(["keep.txt"], Directory.GetFileSystemEntries(workspace.Out).Select(Path.GetFileName));
        Assert.Equal("earlier results", File.ReadAllText(kept));
        output.WriteLine($"| `{string.Join(' ', command)}` into an existing folder | `{result.Error.Trim().Replace(workspace.Folder.Path, "<tmp>")}` | {result.ExitCode} |");
    }

    /// <summary>Images that are unusual but valid, which must be read, not refused.</summary>
    private static readonly Dictionary<string, Func<Workspace, string>> UnusualImages = new()
    {
        ["CMYK JPEG"] = _ => Path.Combine(TestPaths.RepositoryRoot, "tests/Molyneux.Tests/Fixtures/imaging/cmyk_8x6.jpg"),
        ["16-bit RGB PNG"] = w => w.File("deep.png", ImageTestFiles.Png(2, 1, 16, 2, [[0, 10, 0, 20, 0, 30, 255, 255, 128, 0, 0, 3]])),
        ["grayscale PNG"] = w => w.File("gray.png", ImageTestFiles.Png(2, 2, 8, 0, [[0, 77], [200, 255]])),
        ["grayscale PNG with alpha"] = w => w.File("gray-alpha.png", ImageTestFiles.Png(2, 1, 8, 4, [[77, 0, 200, 255]])),
        ["RGBA PNG, partly transparent"] = w => w.File("alpha.png", ImageTestFiles.Png(2, 1, 8, 6, [[255, 0, 0, 128, 20, 40, 60, 255]])),
    };

    public static TheoryData<string> UnusualImageNames => new(UnusualImages.Keys);

    [Theory]
    [MemberData(nameof(UnusualImageNames))]
    public void Unusual_but_valid_image_is_embedded(string name)
    {
        using var workspace = new Workspace();

        var result = CliRunner.Run("embed", "--model", ModelA, "--image", UnusualImages[name](workspace), "--json");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("\"embedding\"", result.Output);
        output.WriteLine($"| {name} | embedded (decoded as RGB, alpha over white) | {result.ExitCode} |");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Bad_input_is_one_error_line_with_exit_code_1_and_no_output(string name)
    {
        using var workspace = new Workspace();
        var (arrange, expected) = Inputs[name];

        var result = CliRunner.Run(arrange(workspace));

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("error: ", result.Error);
        Assert.Contains(expected, result.Error);
        Assert.DoesNotContain("   at ", result.Error);
        Assert.Equal("", result.Output);
        Assert.False(Path.Exists(workspace.Out), $"{workspace.Out} was written");
        Assert.False(Path.Exists(workspace.Out + ".resume"), $"{workspace.Out}.resume was written");
        var message = result.Error.Trim().Replace(workspace.Folder.Path, "<tmp>").Replace("|", "\\|");
        output.WriteLine($"| {name} | `{message}` | {result.ExitCode} |");
    }
}
