using Molyneux.Tokenization;

namespace Molyneux.Tests.Tokenization;

public sealed class ClipTokenizerAddedWordTests
{
    private static readonly Lazy<ClipTokenizer> WithMoongate = new(() => TokenizerGolden.HuggingFace.WithAddedWord("Moongate"));

    [Fact]
    public void Tokenizer_added_word_takes_the_next_id_and_matches_only_as_a_whole_word()
    {
        var original = TokenizerGolden.HuggingFace;
        var tokenizer = WithMoongate.Value;
        var id = original.VocabularySize;

        Assert.Equal(original.VocabularySize + 1, tokenizer.VocabularySize);
        Assert.Equal([id], tokenizer.Encode("MOONGATE"));
        Assert.Equal([.. original.Encode("a photo of a"), id, .. original.Encode(".")], tokenizer.Encode("a photo of a moongate."));
        Assert.Equal(original.Encode("moongates"), tokenizer.Encode("moongates"));
        Assert.Equal("a moongate ", tokenizer.Decode(tokenizer.Encode("a moongate")));
    }

    [Theory]
    [MemberData(nameof(ClipTokenizerTests.CaseIds), MemberType = typeof(ClipTokenizerTests))]
    public void Tokenizer_added_word_leaves_every_golden_case_as_it_was(int caseId)
    {
        var golden = TokenizerGolden.Cases[caseId];
        Assert.Equal(golden.BpeIds, WithMoongate.Value.Encode(golden.Text));
    }

    [Fact]
    public void Tokenizer_added_word_survives_saving_as_a_vocabulary_entry_no_merge_produces()
    {
        using var folder = new TestPaths.TempFolder();
        WithMoongate.Value.SaveHuggingFaceFiles(folder.Path);

        var reloaded = ClipTokenizer.FromFolder(folder.Path);

        Assert.Contains("\"moongate</w>\": 49408", File.ReadAllText(folder.File("vocab.json")));
        Assert.Equal(WithMoongate.Value.VocabularySize, reloaded.VocabularySize);
        Assert.Equal([49408], reloaded.Encode("moongate"));
    }

    [Theory]
    [InlineData("moon gate")]
    [InlineData("r2d2")]
    [InlineData("<|endoftext|>")]
    [InlineData("dog")]
    [InlineData("")]
    public void Tokenizer_added_word_must_be_one_new_word(string word) =>
        Assert.Throws<TokenizerException>(() => TokenizerGolden.HuggingFace.WithAddedWord(word));
}
