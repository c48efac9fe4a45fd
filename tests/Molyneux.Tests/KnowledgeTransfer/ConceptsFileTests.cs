using Molyneux.KnowledgeTransfer;
using Molyneux.Tokenization;

namespace Molyneux.Tests.KnowledgeTransfer;

public sealed class ConceptsFileTests
{
    private static IReadOnlyList<DescribedConcept> Read(TestPaths.TempFolder folder, string json)
    {
        File.WriteAllText(folder.File("concepts.json"), json);
        return ConceptsFile.Read(folder.File("concepts.json"));
    }

    [Fact]
    public void The_shapes_example_concepts_file_is_the_worlds_ten_concepts_with_their_definitions()
    {
        var concepts = ConceptsFile.Read(Path.Combine(TestPaths.RepositoryRoot, "docs", "examples", "shapes-concepts.json"));
        Assert.Equal(Molyneux.Worlds.ShapesConcepts.All.Select(c => (c.Name, c.Definition, $"shapes:{c.Name}")),
            concepts.Select(c => (c.Name, c.Descriptions.Single(), c.Images!)));
    }

    [Fact]
    public void ConceptsFile_reads_one_description_or_several_and_optional_images()
    {
        using var folder = new TestPaths.TempFolder();
        var concepts = Read(folder, """
            [{"name": "flamingo", "description": "pink bird with long legs", "images": "emoji:flamingo"},
             {"name": "moongate", "descriptions": ["a large gray ring", "a round stone gate"], "images": "real/moongate"},
             {"name": "zorblet", "description": "three red hearts"}]
            """);

        Assert.Equal(["flamingo", "moongate", "zorblet"], concepts.Select(c => c.Name));
        Assert.Equal(["pink bird with long legs"], concepts[0].Descriptions);
        Assert.Equal(["a large gray ring", "a round stone gate"], concepts[1].Descriptions);
        Assert.Equal(["emoji:flamingo", "real/moongate", null], concepts.Select(c => c.Images));
    }

    [Theory]
    [InlineData("""[{"name": "quindle", "images": "emoji:x"}]""", """concept 1 ('quindle'): needs "description" (one text) or "descriptions" (a list)""")]
    [InlineData("""[{"name": "quindle", "description": "a", "descriptions": ["b"]}]""", "concept 1 ('quindle'): has both \"description\" and \"descriptions\"; give one of them")]
    [InlineData("""[{"name": "quindle", "descriptions": []}]""", """concept 1 ('quindle'): "descriptions" is empty""")]
    [InlineData("""[{"name": "quindle", "descriptions": ["a red shape", " "]}]""", """concept 1 ('quindle'): description 2 of "descriptions" is empty""")]
    [InlineData("""[{"name": "quindle", "description": ""}]""", """concept 1 ('quindle'): "description" is empty""")]
    [InlineData("""[{"name": " ", "description": "a red shape"}]""", """concept 1: "name" is empty""")]
    [InlineData("""[{"name": "quindle", "description": "a red shape", "images": ""}]""", """concept 1 ('quindle'): "images" is empty""")]
    [InlineData("""[{"name": "quindle", "description": "a red shape", "images": "../elsewhere"}]""", "concept 1 ('quindle'): images folder '../elsewhere' leaves")]
    [InlineData("""[{"name": "quindle", "description": "a red shape", "images": "/etc"}]""", "images folder '/etc' is absolute")]
    [InlineData("""[{"name": "quindle", "description": "a"}, {"name": "Quindle", "description": "b"}]""", "concept 'quindle' is listed 2 times")]
    [InlineData("""[]""", "concepts.json: no concepts")]
    [InlineData("""[{"name": """, "concepts.json: ")]
    [InlineData("""[{"description": "a red shape"}]""", "'name'")]
    public void ConceptsFile_problems_name_the_file_the_concept_and_the_field(string json, string expected)
    {
        using var folder = new TestPaths.TempFolder();
        var error = Assert.Throws<DatasetException>(() => Read(folder, json));
        Assert.StartsWith(folder.File("concepts.json"), error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void ConceptsFile_that_does_not_exist_is_named()
    {
        var error = Assert.Throws<DatasetException>(() => ConceptsFile.Read("/nonexistent/concepts.json"));
        Assert.Equal("/nonexistent/concepts.json: no such concepts file", error.Message);
    }

    [Fact]
    public void ConceptsFile_FitDescriptions_cuts_each_too_long_description_after_a_word_and_warns()
    {
        var fitting = new DescribedConcept("flamingo", ["pink bird with long legs"], "emoji:flamingo");
        var tooLong = string.Join(' ', Enumerable.Repeat("red bird", 20));
        var single = new DescribedConcept("parrot", [tooLong], "emoji:parrot");
        var several = new DescribedConcept("macaw", ["a red bird", tooLong]);
        var warnings = new List<string>();

        var fitted = ConceptsFile.FitDescriptions([fitting, single, several], ClipTokenizer.OpenAiDefault(), contextLength: 16,
            new SynchronousProgress<string>(warnings.Add));

        // 14 tokens fit between the start and end tokens: "red" and "bird" are one token each.
        var cut = string.Join(' ', Enumerable.Repeat("red bird", 7));
        Assert.Equal(fitting.Descriptions, fitted[0].Descriptions);
        Assert.Equal([cut], fitted[1].Descriptions);
        Assert.Equal(["a red bird", cut], fitted[2].Descriptions);
        Assert.Equal(2, warnings.Count);
        Assert.Contains("concept 'parrot': the description has 40 tokens, more than the 14 that fit in the context of 16", warnings[0]);
        Assert.Contains("concept 'macaw': description 2 has 40 tokens", warnings[1]);
    }

    [Fact]
    public void Images_are_dealt_out_over_a_concepts_descriptions_in_turn()
    {
        Assert.Equal(["a", "b", "c", "a", "b", "x", "x", "x", "x", "x"], DescribedConcept.OfImages([["a", "b", "c"], ["x"]], imagesPerConcept: 5));
    }
}
