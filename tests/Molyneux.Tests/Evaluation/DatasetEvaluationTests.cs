using Molyneux.Evaluation;

namespace Molyneux.Tests.Evaluation;

public class ImageFolderDatasetEvaluationTests
{
    private static void Touch(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, [0]);
    }

    [Fact]
    public void Lists_classes_and_images_in_ordinal_order_with_any_case_extension()
    {
        using var temp = new TestPaths.TempFolder();
        Touch(temp.File("zebra_finch/b.PNG"));
        Touch(temp.File("zebra_finch/a.jpeg"));
        Touch(temp.File("zebra_finch/notes.txt"));
        Touch(temp.File("Ant/x.WebP"));
        Touch(temp.File("Ant/y.gif"));
        Touch(temp.File("Ant/z.JPG"));
        Directory.CreateDirectory(temp.File(".cache"));

        var dataset = ImageFolderDataset.Load(temp.Path);

        Assert.Equal(["Ant", "zebra_finch"], dataset.ClassFolders);
        Assert.Equal(["Ant", "zebra finch"], dataset.ClassNames);
        Assert.Equal(
            [
                new LabeledImage(temp.File("Ant/x.WebP"), 0), new LabeledImage(temp.File("Ant/y.gif"), 0), new LabeledImage(temp.File("Ant/z.JPG"), 0),
                new LabeledImage(temp.File("zebra_finch/a.jpeg"), 1), new LabeledImage(temp.File("zebra_finch/b.PNG"), 1),
            ],
            dataset.Images);
    }

    [Fact]
    public void Classes_json_renames_the_folders_it_names()
    {
        using var temp = new TestPaths.TempFolder();
        Touch(temp.File("n01/a.png"));
        Touch(temp.File("golden_retriever/a.png"));
        File.WriteAllText(temp.File("classes.json"), """{ "n01": "tench" }""");

        Assert.Equal(["golden retriever", "tench"], ImageFolderDataset.Load(temp.Path).ClassNames);
    }

    [Fact]
    public void Missing_root_and_folder_without_classes_are_errors()
    {
        using var temp = new TestPaths.TempFolder();
        var missing = Assert.Throws<DatasetException>(() => ImageFolderDataset.Load(temp.File("nowhere")));
        Assert.Contains("nowhere", missing.Message);
        Assert.Contains("not found", missing.Message);

        Touch(temp.File("loose.png"));
        Assert.Contains("no class folders", Assert.Throws<DatasetException>(() => ImageFolderDataset.Load(temp.Path)).Message);
    }

    [Fact]
    public void Empty_class_folder_is_named()
    {
        using var temp = new TestPaths.TempFolder();
        Touch(temp.File("cat/a.png"));
        Touch(temp.File("dog/readme.txt"));
        var error = Assert.Throws<DatasetException>(() => ImageFolderDataset.Load(temp.Path));
        Assert.Contains("'dog'", error.Message);
        Assert.Contains("no images", error.Message);
    }

    [Theory]
    [InlineData("{ \"cat\": ", "invalid JSON")]
    [InlineData("[\"cat\"]", "expected a JSON object")]
    [InlineData("{ \"cat\": 3 }", "display name of 'cat' is Number, expected a string")]
    [InlineData("{ \"cow\": \"a cow\" }", "'cow', which does not exist")]
    [InlineData("{ \"cat\": \"dog\" }", "display name 'dog'")]
    public void Invalid_classes_json_names_the_file_and_the_problem(string json, string expected)
    {
        using var temp = new TestPaths.TempFolder();
        Touch(temp.File("cat/a.png"));
        Touch(temp.File("dog/a.png"));
        File.WriteAllText(temp.File("classes.json"), json);
        var error = Assert.Throws<DatasetException>(() => ImageFolderDataset.Load(temp.Path));
        Assert.Contains(temp.File("classes.json"), error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Class_selection_restricts_renames_and_reindexes()
    {
        using var temp = new TestPaths.TempFolder();
        foreach (var folder in new[] { "ant", "bee", "cat" }) Touch(temp.File($"{folder}/1.png"));
        var dataset = ImageFolderDataset.Load(temp.Path);

        var selected = ClassSelection.Parse(["cat", "ant=an ant"]).Apply(dataset);

        Assert.Equal(["cat", "an ant"], selected.ClassNames);
        Assert.Equal([new LabeledImage(temp.File("ant/1.png"), 1), new LabeledImage(temp.File("cat/1.png"), 0)], selected.Images);
        Assert.Contains("'cow'", Assert.Throws<OptionException>(() => ClassSelection.Parse(["cow"]).Apply(dataset)).Message);
        Assert.Throws<OptionException>(() => ClassSelection.Parse(["ant=x", "bee=x"]).Apply(dataset));
        Assert.Throws<OptionException>(() => ClassSelection.Parse(["=x"]));
    }
}

public class CaptionsDatasetEvaluationTests
{
    private static string WriteCaptions(TestPaths.TempFolder temp, params string[] lines)
    {
        var path = temp.File("data/captions.jsonl");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static void Touch(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, [0]);
    }

    [Fact]
    public void Reads_images_and_flattens_captions_in_file_order()
    {
        using var temp = new TestPaths.TempFolder();
        Touch(temp.File("data/img/a.jpg"));
        Touch(temp.File("data/b.jpg"));
        var path = WriteCaptions(temp,
            """{"image": "img/a.jpg", "captions": ["a one", "a two"]}""",
            "",
            """{"image": "b.jpg", "captions": ["b one"]}""");

        var dataset = CaptionsDataset.Load(path);

        Assert.Equal([temp.File("data/img/a.jpg"), temp.File("data/b.jpg")], dataset.Images.Select(image => image.ImagePath));
        Assert.Equal([1, 3], dataset.Images.Select(image => image.Line));
        Assert.Equal(["a one", "a two", "b one"], dataset.Captions);
        Assert.Equal([0, 0, 1], dataset.CaptionImageIndices);
    }

    [Theory]
    [InlineData("""{"image": "a.jpg", "captions": ["x"]""", "malformed JSON")]
    [InlineData("""["a.jpg"]""", "expected a JSON object")]
    [InlineData("""{"captions": ["x"]}""", "missing field \"image\"")]
    [InlineData("""{"image": "a.jpg"}""", "missing field \"captions\"")]
    [InlineData("""{"image": "a.jpg", "captions": "x"}""", "must be an array")]
    [InlineData("""{"image": "a.jpg", "captions": []}""", "\"captions\" is empty")]
    [InlineData("""{"image": "a.jpg", "captions": ["x", 2]}""", "caption 2 must be a non-empty string")]
    [InlineData("""{"image": "../outside.jpg", "captions": ["x"]}""", "leaves")]
    [InlineData("""{"image": "sub/../../outside.jpg", "captions": ["x"]}""", "leaves")]
    [InlineData("""{"image": "missing.jpg", "captions": ["x"]}""", "image file not found")]
    [InlineData("""{"image": "a.jpg", "captions": ["again"]}""", "already listed on line 1")]
    public void Errors_name_the_file_and_line_3(string third, string expected)
    {
        using var temp = new TestPaths.TempFolder();
        Touch(temp.File("data/a.jpg"));
        Touch(temp.File("data/b.jpg"));
        Touch(temp.File("outside.jpg"));
        var path = WriteCaptions(temp,
            """{"image": "a.jpg", "captions": ["a"]}""",
            """{"image": "b.jpg", "captions": ["b"]}""",
            third);

        var error = Assert.Throws<DatasetException>(() => CaptionsDataset.Load(path));
        Assert.Contains("captions.jsonl", error.Message);
        Assert.Contains("line 3", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Paths_outside_the_root_need_allow_outside_root()
    {
        using var temp = new TestPaths.TempFolder();
        Touch(temp.File("outside.jpg"));
        var absolute = temp.File("outside.jpg").Replace("\\", "\\\\");
        var path = WriteCaptions(temp,
            """{"image": "../outside.jpg", "captions": ["relative"]}""",
            $$"""{"image": "{{absolute}}", "captions": ["absolute"]}""");

        Assert.Contains("leaves", Assert.Throws<DatasetException>(() => CaptionsDataset.Load(path)).Message);
        var withoutFirst = WriteCaptions(temp, $$"""{"image": "{{absolute}}", "captions": ["absolute"]}""");
        Assert.Contains("is absolute", Assert.Throws<DatasetException>(() => CaptionsDataset.Load(withoutFirst)).Message);

        var dataset = CaptionsDataset.Load(WriteCaptions(temp, """{"image": "../outside.jpg", "captions": ["relative"]}"""), allowOutsideRoot: true);
        Assert.Equal(temp.File("outside.jpg"), dataset.Images[0].ImagePath);
    }

    [Fact]
    public void Missing_and_empty_files_are_errors()
    {
        using var temp = new TestPaths.TempFolder();
        Assert.Contains("not found", Assert.Throws<DatasetException>(() => CaptionsDataset.Load(temp.File("none.jsonl"))).Message);
        Assert.Contains("no entries", Assert.Throws<DatasetException>(() => CaptionsDataset.Load(WriteCaptions(temp, "", "  "))).Message);
    }
}
