using System.Text.Json.Nodes;
using Molyneux.Asif;
using Molyneux.Checkpoints;
using Molyneux.KnowledgeTransfer;
using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Tests.Checkpoints;

/// <summary>A CLIP taught a concept token (textual inversion's new vocabulary row), saved for Python: the HF folder
/// declares the name as an added token at the id of its embedding row, and the OpenAI export, whose argmax(ids)
/// pooling would land on that row, is refused with the reason.</summary>
public sealed class TaughtTokenExportTests
{
    private static JsonObject ReadObject(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    [Fact]
    public void The_hf_folder_declares_the_taught_name_at_the_id_of_its_embedding_row()
    {
        using var folder = new TestPaths.TempFolder();
        using var clip = ClipCheckpoint.Load(TestPaths.GoldenClip("model_a/hf"));
        var token = ConceptToken.Add(clip, "Moongate");
        var saved = folder.File("taught");
        ClipCheckpoint.SaveHuggingFace(clip, saved);

        Assert.Equal(49408, token.Id);
        using (var weights = SafetensorsFile.Open(Path.Combine(saved, "model.safetensors")))
            Assert.Equal([token.Id + 1L, 64L], weights.Entries["text_model.embeddings.token_embedding.weight"].Shape);
        var text = ReadObject(Path.Combine(saved, "config.json"))["text_config"]!;
        Assert.Equal(token.Id + 1, text["vocab_size"]!.GetValue<int>());
        Assert.Equal(49407, text["eos_token_id"]!.GetValue<int>());  // transformers pools at the first end-of-text
        var tokenizer = ReadObject(Path.Combine(saved, "tokenizer_config.json"));
        Assert.Equal(77, tokenizer["model_max_length"]!.GetValue<int>());
        var declared = tokenizer["added_tokens_decoder"]![token.Id.ToString()]!;
        Assert.Equal("moongate", declared["content"]!.GetValue<string>());
        Assert.False(declared["special"]!.GetValue<bool>());
        Assert.True(File.Exists(Path.Combine(saved, "special_tokens_map.json")));

        using var reloaded = ClipCheckpoint.Load(saved);
        Assert.Equal([49406, 320, token.Id, 49407], reloaded.Tokenizer.Tokenize("a moongate", contextLength: 4));
        string[] prompts = ["a photo of a moongate.", "a red circle"];
        using var before = clip.EncodeTexts(prompts);
        using var after = reloaded.EncodeTexts(prompts);
        Assert.True(TensorAssert.Identical(before, after));
    }

    [Fact]
    public void The_openai_export_of_a_taught_model_is_refused_with_the_reason_and_writes_nothing()
    {
        using var folder = new TestPaths.TempFolder();
        using var clip = ClipCheckpoint.Load(TestPaths.GoldenClip("model_a/hf"));
        ConceptToken.Add(clip, "moongate");
        var target = folder.File("openai.safetensors");

        var error = Assert.Throws<CheckpointException>(() => ClipCheckpoint.SaveOpenAi(clip, target));
        Assert.StartsWith($"{target}: not written: the vocabulary has 1 id after end-of-text (49407) (the added word \"moongate\" (49408))", error.Message);
        Assert.Contains("argmax(ids)", error.Message);
        Assert.Contains("convert --naming hf", error.Message);
        Assert.Throws<CheckpointException>(() => ClipCheckpoint.SaveOpenAi(clip.Model, target));
        Assert.False(File.Exists(target));
    }

    [Fact]
    public void The_openai_export_of_an_untaught_model_is_still_written()
    {
        using var folder = new TestPaths.TempFolder();
        using var clip = ClipCheckpoint.Load(TestPaths.GoldenClip("model_a/hf"));
        var target = folder.File("openai.safetensors");

        ClipCheckpoint.SaveOpenAi(clip, target);

        using var written = SafetensorsFile.Open(target);
        Assert.Equal([49408L, 64L], written.Entries["token_embedding.weight"].Shape);
    }
}

/// <summary>The dual encoder's folder carries BertTokenizer's files with the length Molyneux cuts texts to.</summary>
public sealed class DualEncoderTokenizerFilesTests(SavedDualEncoderFixture saved) : IClassFixture<SavedDualEncoderFixture>
{
    [Fact]
    public void The_dual_encoder_folder_has_a_BertTokenizer_config_truncating_where_Molyneux_does()
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(saved.Path, "tokenizer_config.json")))!.AsObject();
        Assert.Equal("BertTokenizer", config["tokenizer_class"]!.GetValue<string>());
        Assert.Equal(BertConfig.DualEncoderContextLength, config["model_max_length"]!.GetValue<int>());
        var decoder = config["added_tokens_decoder"]!.AsObject();
        Assert.Equal("[CLS]", decoder[((BertWordPieceTokenizer)saved.Model.Tokenizer).Encode("", 2)[0].ToString()]!["content"]!.GetValue<string>());
        var map = JsonNode.Parse(File.ReadAllText(Path.Combine(saved.Path, "special_tokens_map.json")))!.AsObject();
        Assert.Equal(["cls_token", "mask_token", "pad_token", "sep_token", "unk_token"], map.Select(entry => entry.Key));
    }
}
