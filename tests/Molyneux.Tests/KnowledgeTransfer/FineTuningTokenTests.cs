using Molyneux.Checkpoints;
using Molyneux.KnowledgeTransfer;
using static Molyneux.Tests.KnowledgeTransfer.FineTuningFixture;
using static TorchSharp.torch;

namespace Molyneux.Tests.KnowledgeTransfer;

public sealed class FineTuningTokenTests
{
    private const int OldVocabulary = 49408;

    private static readonly string[] ConceptCaptions =
    [
        "A moongate is a circular opening in a garden wall.",
        "a moongate in a garden",
        "a photo of a moongate.",
        "the moongate at dusk",
    ];

    private static readonly string[] OtherPrompts = ["a photo of a cat.", "a photo of a moon gate.", "moongates", "a red circle"];

    private static FineTuneOptions TokenOptions => new() { Train = TrainMode.Token, TokenWord = "moongate", Steps = 20, LearningRate = 1e-3 };

    [Fact]
    public void FineTuning_token_mode_changes_only_the_new_row_and_no_other_prompt()
    {
        using var clip = LoadModelA();
        var before = Snapshot(clip.Model);
        var otherFeatures = clip.EncodeTexts([.. OtherPrompts, .. Negatives]);
        var images = RandomImages(4);
        var imageFeatures = ImageFeatures(clip, images);
        var pieces = tensor(clip.Tokenizer.Encode("moongate").Select(id => (long)id).ToArray());
        var initialRow = before["text_model.embeddings.token_embedding.weight"].index_select(0, pieces).mean([0]);

        var result = new FineTuner(TokenOptions).Run(clip, new FineTuneData(images, ConceptCaptions, Negatives));

        Assert.Equal(OldVocabulary, result.Token!.Id);
        Assert.Equal(64, result.TrainableParameters);
        Assert.Equal([OldVocabulary], clip.Tokenizer.Encode("Moongate"));
        Assert.Equal(OldVocabulary + 1, clip.Model.Config.Text.VocabSize);
        var table = clip.Model.text_model.embeddings.token_embedding.weight!.detach();
        Assert.True(TensorAssert.Identical(before["text_model.embeddings.token_embedding.weight"], table[..OldVocabulary]));
        Assert.False(TensorAssert.Identical(initialRow, table[OldVocabulary]));
        Assert.Equal(["text_model.embeddings.token_embedding.weight"], Changed(before, clip.Model));
        Assert.True(TensorAssert.Identical(otherFeatures, clip.EncodeTexts([.. OtherPrompts, .. Negatives])));
        Assert.True(TensorAssert.Identical(imageFeatures, ImageFeatures(clip, images)));
        Assert.True(result.Losses[^1] < result.Losses[0], $"loss went from {result.Losses[0]:F4} to {result.Losses[^1]:F4}");
    }

    [Fact]
    public void A_name_the_vocabulary_already_holds_as_one_token_trains_that_tokens_row()
    {
        using var clip = LoadModelA();
        var existing = clip.Tokenizer.Encode("cat");
        Assert.Single(existing);
        var before = clip.Model.text_model.embeddings.token_embedding.weight!.detach().clone();

        var result = new FineTuner(TokenOptions with { TokenWord = "cat" })
            .Run(clip, new FineTuneData(RandomImages(2), ["a photo of a cat.", "a cat"], Negatives));

        Assert.Equal(existing[0], result.Token!.Id);
        Assert.Equal(OldVocabulary, clip.Model.Config.Text.VocabSize);
        var table = clip.Model.text_model.embeddings.token_embedding.weight!.detach();
        var others = arange(OldVocabulary).ne(existing[0]);
        Assert.True(TensorAssert.Identical(before[others], table[others]));
        Assert.False(TensorAssert.Identical(before[existing[0]], table[existing[0]]));
    }

    [Fact]
    public void FineTuning_token_row_starts_at_the_mean_of_the_names_old_tokens()
    {
        using var clip = LoadModelA();
        var pieces = clip.Tokenizer.Encode("moongate").Select(id => (long)id).ToArray();
        Assert.True(pieces.Length > 1);
        var table = clip.Model.text_model.embeddings.token_embedding.weight!;
        var expected = table.detach().index_select(0, tensor(pieces)).mean([0]);

        var token = ConceptToken.Add(clip, "moongate");

        Assert.True(TensorAssert.Identical(expected, clip.Model.text_model.embeddings.token_embedding.weight!.detach()[token.Id]));
    }

    [Fact]
    public void FineTuning_token_checkpoint_carries_the_name_in_its_vocabulary_and_loads_back_identically()
    {
        using var folder = new TestPaths.TempFolder();
        using var clip = LoadModelA();
        new FineTuner(TokenOptions).Run(clip, new FineTuneData(RandomImages(4), ConceptCaptions, Negatives));
        var saved = folder.File("tuned");
        ClipCheckpoint.SaveHuggingFace(clip, saved);

        // Declared as an added token (what transformers' tokenizer splits off), not a vocab.json entry.
        Assert.Contains("\"moongate\": 49408", File.ReadAllText(Path.Combine(saved, "added_tokens.json")));
        using var reloaded = ClipCheckpoint.Load(saved);
        Assert.Equal([OldVocabulary], reloaded.Tokenizer.Encode("moongate"));
        Assert.Equal(clip.Model.Config, reloaded.Model.Config);
        string[] prompts = [.. ConceptCaptions, .. OtherPrompts];
        Assert.True(TensorAssert.Identical(clip.EncodeTexts(prompts), reloaded.EncodeTexts(prompts)));
    }
}
