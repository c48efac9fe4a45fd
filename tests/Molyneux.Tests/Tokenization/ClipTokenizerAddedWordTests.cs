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
    public void Tokenizer_added_word_survives_saving_as_a_declared_added_token()
    {
        using var folder = new TestPaths.TempFolder();
        WithMoongate.Value.SaveHuggingFaceFiles(folder.Path);

        var reloaded = ClipTokenizer.FromFolder(folder.Path);

        Assert.Contains("\"moongate\": 49408", File.ReadAllText(folder.File("added_tokens.json")));
        Assert.Equal(WithMoongate.Value.VocabularySize, reloaded.VocabularySize);
        Assert.Equal([49408], reloaded.Encode("moongate"));
    }

    [Fact]
    public void Tokenizer_added_name_of_several_words_is_one_token_wherever_its_words_stand_in_a_row()
    {
        var original = TokenizerGolden.HuggingFace;
        var tokenizer = original.WithAddedWord("Moon Gate");
        var id = original.VocabularySize;

        Assert.Equal([.. original.Encode("a photo of a"), id, .. original.Encode(".")], tokenizer.Encode("a photo of a moon   gate."));
        // Only the words in a row, whole: one of them alone, or inside a longer word, is tokenized as before.
        Assert.Equal(original.Encode("a moon and a gate"), tokenizer.Encode("a moon and a gate"));
        Assert.Equal(original.Encode("moon gates"), tokenizer.Encode("moon gates"));
        Assert.Equal([id], original.WithAddedWord("r2d2").Encode("R2D2"));

        using var folder = new TestPaths.TempFolder();
        tokenizer.SaveHuggingFaceFiles(folder.Path);
        Assert.Contains("\"moon gate\": 49408", File.ReadAllText(folder.File("added_tokens.json")));
        Assert.Equal([id], ClipTokenizer.FromFolder(folder.Path).Encode("moon gate"));
        Assert.Equal("a moon gate ", tokenizer.Decode(tokenizer.Encode("a moon gate")));
    }

    [Theory]
    [InlineData("<|endoftext|>")]
    [InlineData("dog")]
    [InlineData("")]
    [InlineData("   ")]
    public void Tokenizer_added_word_must_be_new_text(string word) =>
        Assert.Throws<TokenizerException>(() => TokenizerGolden.HuggingFace.WithAddedWord(word));
}
