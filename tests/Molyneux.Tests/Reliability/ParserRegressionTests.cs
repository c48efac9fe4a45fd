using System.Text;
using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Modeling;
using Molyneux.Tests.Tokenization;
using Molyneux.Tokenization;

namespace Molyneux.Tests.Reliability;

/// <summary>Inputs that once crashed a parser with an undocumented exception (found by the fuzz tests or by
/// reading the code; docs/reliability.md lists them), reduced by hand. Each must now be refused with the parser's
/// own exception, naming the file.</summary>
public sealed class ParserRegressionTests : IDisposable
{
    private readonly TestPaths.TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    /// <summary>Files are written as Latin-1, so that a row can hold bytes that are not UTF-8 (é alone is 0xE9).</summary>
    [Theory]
    [InlineData("config.json", """{"text_config": {}, "vision_config": {}, "text_config": {}}""", "Duplicate")]
    [InlineData("config.json", """{"vision_cfg": {"head_width": 0}, "text_cfg": {}}""", "'vision_cfg.head_width' must be positive, got 0")]
    [InlineData("preprocessor_config.json", """{"size": 224, "size": 336}""", "Duplicate")]
    [InlineData("preprocessor_config.json", """{"image_processor_type": "café"}""", "not valid UTF-8")]
    [InlineData("vocab.json", """{"café": 0}""", "not valid UTF-8")]
    [InlineData("open_clip_config.json", """{"model_cfg": """, "not valid JSON")]
    public void Parser_crash_found_earlier_is_now_a_documented_error(string name, string latin1Content, string expected)
    {
        var path = folder.File(name);
        File.WriteAllBytes(path, Encoding.Latin1.GetBytes(latin1Content));

        MolyneuxException error = name switch
        {
            "config.json" => Assert.Throws<ConfigException>(() => ClipConfig.FromFile(path)),
            "preprocessor_config.json" => Assert.Throws<ConfigException>(() => ClipImageProcessor.FromFile(path)),
            "vocab.json" => Assert.Throws<TokenizerException>(() => ClipTokenizer.FromHuggingFaceFiles(path, TokenizerGolden.Merges)),
            _ => Assert.Throws<ConfigException>(() => ClipCheckpoint.Load(OpenClipFolder())),
        };

        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    /// <summary>An open_clip hub folder: the golden weights beside the open_clip_config.json under test.</summary>
    private string OpenClipFolder()
    {
        File.Copy(TestPaths.GoldenClip("model_a/openai/model.safetensors.gz"), folder.File("open_clip_model.safetensors"));
        return this.folder.Path;
    }
}
