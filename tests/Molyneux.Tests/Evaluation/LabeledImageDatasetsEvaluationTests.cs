using System.Security.Cryptography;
using Molyneux.Evaluation;
using static Molyneux.Tests.Evaluation.DatasetFixtures;

namespace Molyneux.Tests.Evaluation;

public class LabeledImageDatasetsEvaluationTests
{
    /// <summary>CLIP_benchmark's layout with a test split of two shards, 2.tar and 10.tar (so name order and number order
    /// differ), and a train split.</summary>
    private static string WriteClipBenchmarkFolder(TestPaths.TempFolder temp)
    {
        var root = temp.File("wds_colors");
        Write(Path.Combine(root, "classnames.txt"), "red\ngreen thing\nblue\n\n");
        Write(Path.Combine(root, "zeroshot_classification_templates.txt"), "a photo of a {c}.\n");
        WriteTar(Path.Combine(root, "test", "2.tar"),
            ("s0.webp", Bytes("s0")), ("s0.cls", Text("2")),
            ("s1.cls", Text(" 0\n")), ("s1.png", Bytes("s1")));
        WriteTar(Path.Combine(root, "test", "10.tar"),
            ("s2.jpg", Bytes("s2")), ("s2.cls", Text("1")));
        WriteTar(Path.Combine(root, "train", "0.tar"), ("t0.png", Bytes("t0")), ("t0.cls", Text("0")));
        return root;
    }

    [Fact]
    public void Clip_benchmark_webdataset_reads_shards_in_number_order_with_labels_names_and_templates()
    {
        using var temp = new TestPaths.TempFolder();
        var root = WriteClipBenchmarkFolder(temp);
        var cache = temp.File("shards");

        var dataset = Assert.IsType<LabeledImageSet>(LabeledImageDatasets.Open(root, "test", new DatasetReadOptions { ShardCache = cache }));

        Assert.Equal(["red", "green thing", "blue"], dataset.ClassNames);
        Assert.Equal([2, 0, 1], dataset.Images.Select(image => image.ClassIndex));
        Assert.Equal(["image s0", "image s1", "image s2"], dataset.Images.Select(image => File.ReadAllText(image.Path)));
        Assert.Equal([".webp", ".png", ".jpg"], dataset.Images.Select(image => Path.GetExtension(image.Path)));
        Assert.Equal(Path.Combine(root, "zeroshot_classification_templates.txt"), dataset.TemplatesFile);
        Assert.Equal(Path.Combine(root, "test"), dataset.Location);
        // Each shard is unpacked under the SHA-256 of its bytes.
        var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(root, "test", "10.tar"))));
        Assert.StartsWith(Path.Combine(cache, hash) + Path.DirectorySeparatorChar, dataset.Images[2].Path);
        Assert.Equal(2, Directory.GetDirectories(cache).Length);

        // A second read uses the unpacked files (the shards could be gone) and gives the same dataset.
        var again = LabeledImageDatasets.Open(root, "test", new DatasetReadOptions { ShardCache = cache });
        Assert.Equal(dataset.Images, again.Images);
        Assert.Equal(2, Directory.GetDirectories(cache).Length);

        var train = LabeledImageDatasets.Open(root, "train", new DatasetReadOptions { ShardCache = cache });
        Assert.Equal(["image t0"], train.Images.Select(image => File.ReadAllText(image.Path)));
    }

    [Fact]
    public void Several_splits_need_a_split_and_a_missing_split_lists_those_there_are()
    {
        using var temp = new TestPaths.TempFolder();
        var root = WriteClipBenchmarkFolder(temp);
        var options = new DatasetReadOptions { ShardCache = temp.File("shards") };

        var ambiguous = Assert.Throws<DatasetException>(() => LabeledImageDatasets.Open(root, null, options));
        Assert.Contains(root, ambiguous.Message);
        Assert.Contains("has the splits test, train; choose one with --split", ambiguous.Message);
        var missing = Assert.Throws<DatasetException>(() => LabeledImageDatasets.Open(root, "validation", options));
        Assert.Contains("no split folder 'validation' (splits: test, train)", missing.Message);

        Directory.Delete(Path.Combine(root, "train"), recursive: true);
        Assert.Equal(3, LabeledImageDatasets.Open(root, null, options).Images.Count);
    }

    [Theory]
    [InlineData("s9.png", null, "sample 's9' has no label member 's9.cls' (it has s9.png)")]
    [InlineData("s9.png", "3", "'s9.cls' holds '3', expected a class index from 0 to 2")]
    [InlineData("s9.png", "red", "'s9.cls' holds 'red'")]
    [InlineData(null, "1", "sample 's9' has no image member")]
    [InlineData("../s9.png", null, "member '../s9.png' leaves")]
    public void Webdataset_errors_name_the_shard_and_the_sample(string? image, string? label, string expected)
    {
        using var temp = new TestPaths.TempFolder();
        Write(temp.File("ds/classnames.txt"), "red\ngreen\nblue\n");
        var members = new List<(string, byte[])> { ("s8.png", Bytes("s8")), ("s8.cls", Text("0")) };
        if (image is not null) members.Add((image, Bytes("s9")));
        if (label is not null) members.Add(("s9.cls", Text(label)));
        var shard = WriteTar(temp.File("ds/test/0.tar"), [.. members]);

        var error = Assert.Throws<DatasetException>(() => LabeledImageDatasets.Open(temp.File("ds"), null, new DatasetReadOptions { ShardCache = temp.File("shards") }));

        Assert.Contains(shard, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Webdataset_needs_class_names_and_a_real_tar()
    {
        using var temp = new TestPaths.TempFolder();
        var options = new DatasetReadOptions { ShardCache = temp.File("shards") };
        WriteTar(temp.File("ds/0.tar"), ("a.png", Bytes("a")), ("a.cls", Text("0")));
        Assert.Contains(temp.File("ds/classnames.txt") + ": not found", Assert.Throws<DatasetException>(() => LabeledImageDatasets.Open(temp.File("ds"), null, options)).Message);

        Write(temp.File("bad/classnames.txt"), "a\n");
        Write(temp.File("bad/0.tar"), new string('x', 2048));
        var error = Assert.Throws<DatasetException>(() => LabeledImageDatasets.Open(temp.File("bad"), null, options));
        Assert.Contains(temp.File("bad/0.tar"), error.Message);
        Assert.Empty(Directory.Exists(temp.File("shards")) ? Directory.GetDirectories(temp.File("shards")) : []);
    }

    /// <summary>A Hugging Face image folder: train/ with metadata.jsonl, test/ with metadata.csv.</summary>
    private static string WriteHuggingFaceFolder(TestPaths.TempFolder temp)
    {
        var root = temp.File("hf");
        foreach (var file in new[] { "train/0001.png", "train/0002.png", "test/img/b.jpg", "test/img/a.jpg", "test/c, d.png" })
            Touch(Path.Combine(root, file));
        Write(Path.Combine(root, "train", "metadata.jsonl"), """
            {"file_name": "0002.png", "label": "tabby cat", "extra": 1}

            {"file_name": "0001.png", "label": "dog"}
            """);
        Write(Path.Combine(root, "test", "metadata.csv"), "file_name,label,caption\nimg/b.jpg,zebra,\"stripes, \"\"many\"\"\"\n\"c, d.png\",ant,x\r\nimg/a.jpg,zebra,y\n");
        return root;
    }

    [Fact]
    public void Hugging_face_metadata_folders_give_rows_in_order_and_classes_in_name_order()
    {
        using var temp = new TestPaths.TempFolder();
        var root = WriteHuggingFaceFolder(temp);

        var test = LabeledImageDatasets.Open(root, "test");
        Assert.Equal(["ant", "zebra"], test.ClassNames);
        Assert.Equal(
            [new LabeledImage(Path.Combine(root, "test/img/b.jpg"), 1), new LabeledImage(Path.Combine(root, "test/c, d.png"), 0), new LabeledImage(Path.Combine(root, "test/img/a.jpg"), 1)],
            test.Images);

        var train = LabeledImageDatasets.Open(root, "train");
        Assert.Equal(["dog", "tabby cat"], train.ClassNames);
        Assert.Equal([new LabeledImage(Path.Combine(root, "train/0002.png"), 1), new LabeledImage(Path.Combine(root, "train/0001.png"), 0)], train.Images);

        Assert.Contains("choose one with --split", Assert.Throws<DatasetException>(() => LabeledImageDatasets.Open(root)).Message);
    }

    [Fact]
    public void Hugging_face_labels_can_be_indices_into_classnames_txt_and_come_from_another_column()
    {
        using var temp = new TestPaths.TempFolder();
        Touch(temp.File("hf/x.png"));
        Touch(temp.File("hf/y.png"));
        Write(temp.File("hf/classnames.txt"), "first\nsecond\n");
        Write(temp.File("hf/metadata.jsonl"), "{\"file_name\": \"x.png\", \"fine\": 1}\n{\"file_name\": \"y.png\", \"fine\": 0}\n");

        var dataset = LabeledImageDatasets.Open(temp.File("hf"), options: new DatasetReadOptions { LabelColumn = "fine" });

        Assert.Equal(["first", "second"], dataset.ClassNames);
        Assert.Equal([new LabeledImage(temp.File("hf/x.png"), 1), new LabeledImage(temp.File("hf/y.png"), 0)], dataset.Images);
        var noColumn = Assert.Throws<DatasetException>(() => LabeledImageDatasets.Open(temp.File("hf")));
        Assert.Contains(temp.File("hf/metadata.jsonl") + ": line 1: no \"label\" field", noColumn.Message);
    }

    [Theory]
    [InlineData("metadata.jsonl", "{\"file_name\": \"a.png\", \"label\": \"x\"}\n{\"file_name\": \"gone.png\", \"label\": \"y\"}\n", "line 2: image file not found")]
    [InlineData("metadata.jsonl", "{\"file_name\": \"../a.png\", \"label\": \"x\"}\n", "line 1: file_name '../a.png' leaves")]
    [InlineData("metadata.jsonl", "{\"file_name\": \"a.png\", \"label\": \"x\"}\n{\"file_name\": \"a.png\", \"label\": \"y\"}\n", "line 2: image 'a.png' is already listed on line 1")]
    [InlineData("metadata.jsonl", "{\"file_name\": \"a.png\", \"label\": 3}\n", "class indices; put the class names")]
    [InlineData("metadata.jsonl", "{\"label\": \"x\"}\n", "line 1: missing or empty \"file_name\"")]
    [InlineData("metadata.csv", "file_name,class\na.png,x\n", "no column 'label' (columns: file_name, class); choose the label column with --label-column")]
    [InlineData("metadata.csv", "file_name,label\na.png,x,extra\n", "line 2: 3 fields, but the header has 2")]
    public void Hugging_face_metadata_errors_name_the_file_and_row(string file, string content, string expected)
    {
        using var temp = new TestPaths.TempFolder();
        Touch(temp.File("hf/a.png"));
        var metadata = Write(temp.File("hf/" + file), content);

        var error = Assert.Throws<DatasetException>(() => LabeledImageDatasets.Open(temp.File("hf")));

        Assert.Contains(metadata, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Image_folders_take_images_at_any_depth_below_a_class_folder()
    {
        using var temp = new TestPaths.TempFolder();
        foreach (var file in new[] { "cat/b.png", "cat/a/z.png", "cat/a/y/x.jpg", "cat/.cache/hidden.png", "cat/notes.txt", "dog/2019/spring/d.webp" })
            Touch(temp.File(file));

        var dataset = LabeledImageDatasets.Open(temp.Path);

        Assert.Equal(["cat", "dog"], dataset.ClassNames);
        Assert.Equal(
            [
                new LabeledImage(temp.File("cat/a/y/x.jpg"), 0), new LabeledImage(temp.File("cat/a/z.png"), 0), new LabeledImage(temp.File("cat/b.png"), 0),
                new LabeledImage(temp.File("dog/2019/spring/d.webp"), 1),
            ],
            dataset.Images);
        // The one-level reader keeps its behaviour: dog/ has no image directly inside.
        Assert.Contains("class folder 'dog' has no images", Assert.Throws<DatasetException>(() => ImageFolderDataset.Load(temp.Path)).Message);
    }

    [Fact]
    public void A_file_or_a_missing_folder_is_an_error()
    {
        using var temp = new TestPaths.TempFolder();
        Touch(temp.File("data.csv"));
        Assert.Contains("is a file", Assert.Throws<DatasetException>(() => LabeledImageDatasets.Open(temp.File("data.csv"))).Message);
        Assert.Contains("dataset folder not found", Assert.Throws<DatasetException>(() => LabeledImageDatasets.Open(temp.File("none"))).Message);
    }
}
