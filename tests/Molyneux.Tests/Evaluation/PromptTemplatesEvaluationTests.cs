using Molyneux.Evaluation;

namespace Molyneux.Tests.Evaluation;

public class PromptTemplatesEvaluationTests
{
    [Fact]
    public void Built_in_sets_have_open_clips_templates()
    {
        var openai = PromptTemplates.Load("openai_imagenet");
        Assert.Equal(80, openai.Templates.Count);
        Assert.Equal(80, openai.Templates.Distinct().Count());
        Assert.Equal("a bad photo of a {}.", openai.Templates[0]);
        Assert.Equal("a {} in a video game.", openai.Templates[35]);
        Assert.Equal("a tattoo of the {}.", openai.Templates[^1]);

        Assert.Equal(
            ["itap of a {}.", "a bad photo of the {}.", "a origami {}.", "a photo of the large {}.", "a {} in a video game.", "art of the {}.", "a photo of the small {}."],
            PromptTemplates.Load("simple").Templates);
        // The simple set is a subset of the full one.
        Assert.All(PromptTemplates.Load("simple").Templates, template => Assert.Contains(template, openai.Templates));

        Assert.Equal(["{}"], PromptTemplates.Load("name").Templates);
        Assert.Equal(["a photo of a {}."], PromptTemplates.Load("a_photo").Templates);
        Assert.Equal("openai_imagenet", openai.Name);
    }

    [Fact]
    public void User_file_skips_comments_and_blank_lines_and_accepts_both_placeholders()
    {
        using var temp = new TestPaths.TempFolder();
        var path = temp.File("mine.txt");
        File.WriteAllText(path, "# my templates\n\na {c} on a table.\r\n  # indented comment\nthe {}!\n");

        var templates = PromptTemplates.Load(path);

        Assert.Equal(path, templates.Name);
        Assert.Equal(["a {c} on a table.", "the {}!"], templates.Templates);
        Assert.Equal([["a red car on a table.", "the red car!"], ["a cup on a table.", "the cup!"]], templates.PromptsFor(["red car", "cup"]));
    }

    [Fact]
    public void Template_without_placeholder_names_file_and_line()
    {
        using var temp = new TestPaths.TempFolder();
        var path = temp.File("bad.txt");
        File.WriteAllText(path, "# header\na photo of a {}.\na photo of a thing.\n");
        var error = Assert.Throws<DatasetException>(() => PromptTemplates.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("line 3", error.Message);

        File.WriteAllText(path, "# only comments\n");
        Assert.Contains("no templates", Assert.Throws<DatasetException>(() => PromptTemplates.Load(path)).Message);
    }

    [Fact]
    public void Unknown_name_is_an_option_error_listing_the_built_ins()
    {
        var error = Assert.Throws<OptionException>(() => PromptTemplates.Load("knowledge_transfer_guess"));
        Assert.Contains("openai_imagenet", error.Message);
    }
}
