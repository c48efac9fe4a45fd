using Molyneux.KnowledgeTransfer;
using Molyneux.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Tests.KnowledgeTransfer;

public sealed class FineTuningLossAndCaptionTests
{
    /// <summary>The loss written out with loops in double precision: s_ij = e^t cos(x_i, y_j); the image→text term
    /// (Eq. 2 of the paper) runs over all texts, CLIP's text→image term over the B captions.</summary>
    private static double HandComputedLoss(float[,] images, float[,] texts, double logitScale, bool symmetric)
    {
        var (batch, textCount, width) = (images.GetLength(0), texts.GetLength(0), images.GetLength(1));
        double Norm(float[,] x, int row) => Math.Sqrt(Enumerable.Range(0, width).Sum(k => (double)x[row, k] * x[row, k]));
        var s = new double[batch, textCount];
        for (var i = 0; i < batch; i++)
        for (var j = 0; j < textCount; j++)
            s[i, j] = Math.Exp(logitScale) * Enumerable.Range(0, width).Sum(k => (double)images[i, k] * texts[j, k]) / (Norm(images, i) * Norm(texts, j));
        double imageToText = 0, textToImage = 0;
        for (var i = 0; i < batch; i++)
            imageToText += Math.Log(Enumerable.Range(0, textCount).Sum(j => Math.Exp(s[i, j]))) - s[i, i];
        for (var j = 0; j < batch; j++)
            textToImage += Math.Log(Enumerable.Range(0, batch).Sum(i => Math.Exp(s[i, j]))) - s[j, j];
        return symmetric ? (imageToText / batch + textToImage / batch) / 2 : imageToText / batch;
    }

    private static float[,] ToArray(Tensor x)
    {
        var values = x.data<float>().ToArray();
        var result = new float[x.shape[0], x.shape[1]];
        Buffer.BlockCopy(values, 0, result, 0, values.Length * sizeof(float));
        return result;
    }

    [Theory]
    [InlineData(4, 0, true)]
    [InlineData(4, 16, true)]
    [InlineData(1, 3, true)]
    [InlineData(4, 0, false)]
    [InlineData(4, 16, false)]
    [InlineData(1, 3, false)]
    public void FineTuning_loss_matches_the_loss_computed_by_hand_in_both_forms(int batch, int negatives, bool symmetric)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        var images = randn([batch, 8], generator: generator);
        var texts = randn([batch + negatives, 8], generator: generator);
        var logitScale = tensor(2.3f);

        var loss = ContrastiveLoss.Compute(images, texts, logitScale, symmetric).item<float>();

        Assert.Equal(HandComputedLoss(ToArray(images), ToArray(texts), 2.3, symmetric), loss, 5);
    }

    [Fact]
    public void FineTuning_loss_rejects_fewer_texts_than_images()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentException>(() => ContrastiveLoss.Compute(randn(3, 8), randn(2, 8), tensor(1f)));
    }

    [Theory]
    [InlineData("moongate", CaptionMode.NameAndDescription, "A moongate is a circular opening in a garden wall.")]
    [InlineData("okapi", CaptionMode.NameAndDescription, "An okapi is a circular opening in a garden wall.")]
    [InlineData(" moongate ", CaptionMode.Name, "a moongate")]
    [InlineData("Umbrella", CaptionMode.Name, "an Umbrella")]
    [InlineData("moongate", CaptionMode.Description, "a circular opening in a garden wall.")]
    public void FineTuning_caption_rule(string name, CaptionMode mode, string expected) =>
        Assert.Equal(expected, ConceptCaptions.Caption(name, " a circular opening in a garden wall. ", mode));

    [Fact]
    public void FineTuning_caption_modes_parse_from_their_option_spelling()
    {
        Assert.Equal(CaptionMode.NameAndDescription, ConceptCaptions.ParseMode("name+description"));
        Assert.Equal(CaptionMode.Name, ConceptCaptions.ParseMode("name"));
        Assert.Equal(CaptionMode.Description, ConceptCaptions.ParseMode("description"));
        Assert.Throws<OptionException>(() => ConceptCaptions.ParseMode("names"));
        Assert.Throws<OptionException>(() => ConceptCaptions.Caption("moongate", "  "));
        Assert.Throws<OptionException>(() => ConceptCaptions.Caption(" ", "a circular opening"));
    }
}
