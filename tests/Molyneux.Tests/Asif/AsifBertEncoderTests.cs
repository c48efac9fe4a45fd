using Molyneux.Asif;
using Molyneux.Checkpoints;
using static TorchSharp.torch;

namespace Molyneux.Tests.Asif;

/// <summary>The HF BERT sentence encoder and its WordPiece tokenizer, on checkpoints the tests make (random weights in
/// HF's layout): strict loading, identical outputs, and the invariants mean pooling with an attention mask implies.</summary>
public sealed class AsifBertEncoderTests
{
    internal static readonly string[] Vocabulary =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "red", "blue", "circle", "square", "un", "##aff", "##able",
        "the", "cafe", ",", "!", "big", "small", "green",
    ];

    internal static readonly BertConfig Tiny = new(VocabSize: Vocabulary.Length, HiddenSize: 16, NumHiddenLayers: 2, NumAttentionHeads: 2,
        IntermediateSize: 32, MaxPositionEmbeddings: 12);

    internal static BertModel SaveRandom(string folder, BertConfig config, int seed = 2)
    {
        var model = RandomWeights.Fill(new BertModel(config), 0.3, seed);
        Directory.CreateDirectory(folder);
        BertTextEncoder.Save(model, BertWordPieceTokenizer.FromTokens(Vocabulary), folder);
        return model;
    }

    [Fact]
    public void The_tokenizer_lower_cases_splits_punctuation_and_continues_words_with_wordpieces()
    {
        var tokenizer = BertWordPieceTokenizer.FromTokens(Vocabulary);
        // [CLS] the cafe , red ! un ##aff ##able [UNK] [SEP]
        Assert.Equal([2, 13, 14, 15, 6, 16, 10, 11, 12, 1, 3], tokenizer.Encode("The CAFE, Red!  unaffable\tzebra", maxLength: 32));
        // Truncation keeps [CLS] and [SEP].
        Assert.Equal([2, 6, 7, 3], tokenizer.Encode("red blue circle square", maxLength: 4));
        var cased = BertWordPieceTokenizer.FromTokens(Vocabulary, lowerCase: false);
        Assert.Equal([2, 1, 6, 3], cased.Encode("Red red", maxLength: 32));
    }

    [Fact]
    public void Batches_are_padded_with_PAD_to_the_longest_text_and_masked()
    {
        var tokenizer = BertWordPieceTokenizer.FromTokens(Vocabulary);
        var (ids, mask) = tokenizer.TokenizeBatch(["red", "a big blue square"], maxLength: 12);
        Assert.Equal([2L, 6], ids.shape);
        Assert.Equal([2L, 6, 3, 0, 0, 0], ids[0].data<long>().ToArray());
        Assert.Equal([true, true, true, false, false, false], mask[0].data<bool>().ToArray());
        Assert.All(mask[1].data<bool>().ToArray(), Assert.True);
    }

    [Fact]
    public void Random_weights_saved_in_HF_layout_load_strictly_and_give_the_same_outputs()
    {
        using var folder = new TestPaths.TempFolder();
        var original = SaveRandom(folder.File("bert"), Tiny);
        using (var file = SafetensorsFile.Open(folder.File("bert/model.safetensors")))
        {
            foreach (var name in new[]
                     {
                         "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight", "embeddings.token_type_embeddings.weight",
                         "embeddings.LayerNorm.weight", "encoder.layer.1.attention.self.query.weight", "encoder.layer.1.attention.self.value.bias",
                         "encoder.layer.0.attention.output.dense.weight", "encoder.layer.0.attention.output.LayerNorm.bias",
                         "encoder.layer.0.intermediate.dense.weight", "encoder.layer.0.output.dense.bias", "encoder.layer.0.output.LayerNorm.weight",
                     })
                Assert.Contains(name, file.Entries.Keys);
        }
        using var encoder = BertTextEncoder.Load(folder.File("bert"));
        string[] texts = ["a red circle", "the big blue square !"];
        var (ids, mask) = encoder.Tokenizer.TokenizeBatch(texts, Tiny.MaxPositionEmbeddings);
        using var expected = original.MeanPool(ids, mask);
        using var actual = encoder.EncodeTexts(texts);
        Assert.True(TensorAssert.Identical(expected, actual));
        Assert.Equal([2L, Tiny.HiddenSize], actual.shape);
    }

    [Fact]
    public void Padding_does_not_change_a_texts_mean_pooled_embedding_and_rows_permute_with_the_texts()
    {
        using var folder = new TestPaths.TempFolder();
        SaveRandom(folder.File("bert"), Tiny);
        using var encoder = BertTextEncoder.Load(folder.File("bert"));
        using var alone = encoder.EncodeTexts(["red"]);
        using var padded = encoder.EncodeTexts(["red", "a big blue square , small green circle"]);
        Assert.True((alone[0] - padded[0]).abs().max().item<float>() < 1e-5);

        string[] texts = ["red", "a blue circle", "big green square", "the cafe"];
        using var forward = encoder.EncodeTexts(texts);
        using var backward = encoder.EncodeTexts(texts.Reverse().ToArray());
        using var expected = forward.flip(0);
        Assert.True((backward - expected).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void Loading_ignores_the_pooler_and_position_ids_and_names_what_does_not_fit()
    {
        using var folder = new TestPaths.TempFolder();
        var model = SaveRandom(folder.File("bert"), Tiny);
        var tensors = model.named_parameters().ToDictionary(entry => BertNaming.HuggingFaceName(entry.name), entry => entry.parameter.detach());
        tensors["pooler.dense.weight"] = zeros(16, 16);
        tensors["embeddings.position_ids"] = arange(12).unsqueeze(0);
        SafetensorsFile.Write(folder.File("bert/model.safetensors"), tensors);
        using (BertTextEncoder.Load(folder.File("bert"))) { }

        tensors.Remove("encoder.layer.0.output.LayerNorm.weight");
        tensors["cls.predictions.bias"] = zeros(20);
        SafetensorsFile.Write(folder.File("bert/model.safetensors"), tensors);
        var error = Assert.Throws<CheckpointException>(() => BertTextEncoder.Load(folder.File("bert")));
        Assert.Contains("missing: encoder.layer.0.output.LayerNorm.weight", error.Message);
        Assert.Contains("unexpected: cls.predictions.bias", error.Message);
    }
}
