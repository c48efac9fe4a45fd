using Molyneux.Evaluation;

namespace Molyneux.Tests.Evaluation;

/// <summary>CLIP_benchmark's classnames.txt beside the class folders, and how it layers under classes.json.</summary>
public sealed class ClassNamesListEvaluationTests
{
    private static string Folder(TestPaths.TempFolder temp, params string[] classes)
    {
        foreach (var name in classes) MeanColourImageEncoder.WritePng(temp.File($"{name}/0.png"), 1, 2, 3);
        return temp.Path;
    }

    [Fact]
    public void Classnames_txt_names_the_folders_in_sorted_order()
    {
        using var temp = new TestPaths.TempFolder();
        var root = Folder(temp, "n02", "n01", "n03");
        File.WriteAllText(temp.File("classnames.txt"), "tench\n  goldfish \ngreat white shark\n\n");

        var dataset = ImageFolderDataset.Load(root);

        Assert.Equal(["n01", "n02", "n03"], dataset.ClassFolders);
        Assert.Equal(["tench", "goldfish", "great white shark"], dataset.ClassNames);
    }

    [Fact]
    public void Classes_json_overrides_the_folders_it_names()
    {
        using var temp = new TestPaths.TempFolder();
        var root = Folder(temp, "n01", "n02");
        File.WriteAllText(temp.File("classnames.txt"), "tench\ngoldfish\n");
        File.WriteAllText(temp.File("classes.json"), """{"n02": "carassius auratus"}""");

        Assert.Equal(["tench", "carassius auratus"], ImageFolderDataset.Load(root).ClassNames);
    }

    [Fact]
    public void A_list_that_does_not_match_the_folders_is_refused()
    {
        using var temp = new TestPaths.TempFolder();
        var root = Folder(temp, "a", "b", "c");
        File.WriteAllText(temp.File("classnames.txt"), "x\ny\n");
        var error = Assert.Throws<DatasetException>(() => ImageFolderDataset.Load(root));
        Assert.Equal($"{temp.File("classnames.txt")}: 2 class names for 3 class folders (one line per folder, in the folders' sorted order: a, b, c)", error.Message);

        File.WriteAllText(temp.File("classnames.txt"), "x\n\nz\n");
        Assert.Equal($"{temp.File("classnames.txt")}: line 2 is empty (expected one class name per line)",
            Assert.Throws<DatasetException>(() => ImageFolderDataset.Load(root)).Message);

        File.WriteAllText(temp.File("classnames.txt"), "x\ny\nx\n");
        Assert.Equal($"{temp.File("classnames.txt")}: more than one class folder has the display name 'x'",
            Assert.Throws<DatasetException>(() => ImageFolderDataset.Load(root)).Message);
    }
}
