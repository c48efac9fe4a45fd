using Molyneux.Evaluation;
using static Molyneux.Tests.Evaluation.DatasetFixtures;

namespace Molyneux.Tests.Evaluation;

public class CaptionPairDatasetsEvaluationTests
{
    private static IEnumerable<(string Image, string[] Captions)> Pairs(CaptionsDataset dataset) =>
        dataset.Images.Select(image => (image.ImagePath, image.Captions.ToArray()));

    private const string Coco = """
        {"info": {}, "images": [{"id": 20, "file_name": "b.jpg"}, {"id": 10, "file_name": "sub/a.jpg"}, {"id": 30, "file_name": "c.jpg"}],
         "annotations": [{"id": 1, "image_id": 10, "caption": "first of a "}, {"id": 2, "image_id": 20, "caption": "only b"},
                         {"id": 3, "image_id": 10, "caption": "second of a\n"}]}
        """;

    [Fact]
    public void Coco_captions_follow_the_images_order_and_the_annotations_order_and_skip_uncaptioned_images()
    {
        using var temp = new TestPaths.TempFolder();
        foreach (var file in new[] { "val/b.jpg", "val/sub/a.jpg", "val/c.jpg" }) Touch(temp.File(file));
        var path = Write(temp.File("annotations/captions_val.json"), Coco);

        var dataset = CaptionPairDatasets.Open(path, options: new DatasetReadOptions { ImageRoot = temp.File("val") });

        Assert.Equal([(temp.File("val/b.jpg"), ["only b"]), (temp.File("val/sub/a.jpg"), new[] { "first of a", "second of a" })], Pairs(dataset));
        Assert.Equal([1, 2], dataset.Images.Select(image => image.Line));
        Assert.Equal([0, 1, 1], dataset.CaptionImageIndices);
        Assert.Equal(path, dataset.Location);

        // Without --image-root the images are looked for beside the JSON file.
        var error = Assert.Throws<DatasetException>(() => CaptionPairDatasets.Open(path));
        Assert.Contains($"{path}: images[0]: image file not found: {temp.File("annotations/b.jpg")}", error.Message);
        Assert.Contains("--image-root", error.Message);
        Assert.Contains("has no splits", Assert.Throws<OptionException>(() => CaptionPairDatasets.Open(path, "test")).Message);
    }

    [Theory]
    [InlineData("""{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 2, "caption": "x"}]}""", "annotations[0]: image_id 2 is not the id of any entry of images[]")]
    [InlineData("""{"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 1, "file_name": "b.jpg"}], "annotations": []}""", "images[1]: image id 1 is already used by images[0]")]
    [InlineData("""{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 1, "caption": "  "}]}""", "annotations[0]: \"caption\" is blank")]
    [InlineData("""{"images": [{"id": 1, "file_name": "../a.jpg"}], "annotations": [{"image_id": 1, "caption": "x"}]}""", "images[0]: image path '../a.jpg' leaves")]
    [InlineData("""{"images": [{"id": 1}], "annotations": []}""", "images[0]: expected a non-empty string \"file_name\"")]
    [InlineData("""{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [}""", "invalid JSON at line 1")]
    [InlineData("""{"pictures": []}""", "neither COCO captions")]
    public void Coco_errors_name_the_file_and_the_entry(string json, string expected)
    {
        using var temp = new TestPaths.TempFolder();
        Touch(temp.File("a.jpg"));
        Touch(temp.File("d/a.jpg"));
        var path = Write(temp.File("d/captions.json"), json);

        var error = Assert.Throws<DatasetException>(() => CaptionPairDatasets.Open(path));

        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    private const string Karpathy = """
        {"dataset": "coco", "images": [
          {"filepath": "val2014", "filename": "v1.jpg", "split": "test", "sentences": [{"raw": "A cat. ", "tokens": ["a", "cat"]}, {"raw": "Cat on mat."}]},
          {"filepath": "train2014", "filename": "t1.jpg", "split": "train", "sentences": [{"raw": "A dog."}]},
          {"filepath": "val2014", "filename": "v2.jpg", "split": "test", "sentences": [{"raw": "Two birds."}]},
          {"filepath": "val2014", "filename": "v3.jpg", "split": "restval", "sentences": [{"raw": "A boat."}]}
        ]}
        """;

    [Fact]
    public void Karpathy_split_files_give_the_images_of_the_split_in_file_order()
    {
        using var temp = new TestPaths.TempFolder();
        foreach (var file in new[] { "images/val2014/v1.jpg", "images/train2014/t1.jpg", "images/val2014/v2.jpg", "images/val2014/v3.jpg" }) Touch(temp.File(file));
        var path = Write(temp.File("dataset_coco.json"), Karpathy);
        var options = new DatasetReadOptions { ImageRoot = temp.File("images") };

        var test = CaptionPairDatasets.Open(path, "test", options);
        Assert.Equal([(temp.File("images/val2014/v1.jpg"), ["A cat.", "Cat on mat."]), (temp.File("images/val2014/v2.jpg"), new[] { "Two birds." })], Pairs(test));
        Assert.Equal([1, 3], test.Images.Select(image => image.Line));

        Assert.Equal(4, CaptionPairDatasets.Open(path, null, options).Images.Count);
        var missing = Assert.Throws<DatasetException>(() => CaptionPairDatasets.Open(path, "val", options));
        Assert.Contains($"{path}: no images in the split 'val' (splits: restval, test, train)", missing.Message);
    }

    [Fact]
    public void Csv_groups_the_rows_of_an_image_and_reads_quoted_fields()
    {
        using var temp = new TestPaths.TempFolder();
        Touch(temp.File("img/a.png"));
        Touch(temp.File("img/b c.png"));
        var path = Write(temp.File("pairs.csv"),
            "id,image,caption\n1,img/a.png,\"red, round \"\"ball\"\"\"\r\n\n2,\"img/b c.png\",\"two\nlines\"\n3,img/a.png,a second caption\n");

        var dataset = CaptionPairDatasets.Open(path);

        Assert.Equal([(temp.File("img/a.png"), ["red, round \"ball\"", "a second caption"]), (temp.File("img/b c.png"), new[] { "two\nlines" })], Pairs(dataset));
        Assert.Equal([2, 4], dataset.Images.Select(image => image.Line));
    }

    [Fact]
    public void Tsv_with_renamed_columns_and_an_image_root()
    {
        using var temp = new TestPaths.TempFolder();
        Touch(temp.File("photos/1.jpg"));
        Touch(temp.File("photos/2.jpg"));
        var path = Write(temp.File("meta/pairs.tsv"), "text\tfilepath\nA, with a comma\t1.jpg\nB\t2.jpg\n");

        var dataset = CaptionPairDatasets.Open(path, options: new DatasetReadOptions { ImageColumn = "filepath", CaptionColumn = "text", ImageRoot = temp.File("photos") });

        Assert.Equal([(temp.File("photos/1.jpg"), ["A, with a comma"]), (temp.File("photos/2.jpg"), new[] { "B" })], Pairs(dataset));
        var error = Assert.Throws<DatasetException>(() => CaptionPairDatasets.Open(path));
        Assert.Contains($"{path}: no column 'image' (columns: text, filepath); choose the image column with --image-column", error.Message);
    }

    [Theory]
    [InlineData("image,caption\na.png\n", "line 2: 1 fields, but the header has 2")]
    [InlineData("image,caption\na.png,\n", "line 2: empty 'caption'")]
    [InlineData("image,caption\ngone.png,x\n", "line 2: image file not found")]
    [InlineData("image,caption\n../a.png,x\n", "line 2: image path '../a.png' leaves")]
    [InlineData("image,text\na.png,x\n", "no column 'caption' (columns: image, text); choose the caption column with --caption-column")]
    [InlineData("image,caption\na.png,\"open\n", "line 2: a quoted field is not closed")]
    [InlineData("", "empty; expected a header row")]
    public void Csv_errors_name_the_file_and_the_line(string content, string expected)
    {
        using var temp = new TestPaths.TempFolder();
        Touch(temp.File("d/a.png"));
        Touch(temp.File("a.png"));
        var path = Write(temp.File("d/pairs.csv"), content);

        var error = Assert.Throws<DatasetException>(() => CaptionPairDatasets.Open(path));

        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Webdataset_shards_pair_each_image_with_its_txt_or_json_caption()
    {
        using var temp = new TestPaths.TempFolder();
        WriteTar(temp.File("wds/train/00000.tar"), ("x/a.jpg", Bytes("a")), ("x/a.txt", Text("a red ball\n")), ("b.png", Bytes("b")), ("b.json", Text("""{"caption": "a blue cube", "width": 4}""")));
        WriteTar(temp.File("wds/train/00001.tar"), ("README", Text("no sample")), ("c.webp", Bytes("c")), ("c.json", Text("""{"text": "green"}""")));
        Touch(temp.File("wds/train/notes.md"));
        var options = new DatasetReadOptions { ShardCache = temp.File("shards") };

        var dataset = CaptionPairDatasets.Open(temp.File("wds"), null, options);

        Assert.Equal(["a red ball", "a blue cube", "green"], dataset.Captions);
        Assert.Equal(["image a", "image b", "image c"], dataset.Images.Select(image => File.ReadAllText(image.ImagePath)));
        Assert.EndsWith("x/a.jpg", dataset.Images[0].ImagePath.Replace('\\', '/'));
        Assert.Equal(temp.File("wds/train"), dataset.Location);
        // One shard on its own.
        Assert.Equal(["green"], CaptionPairDatasets.Open(temp.File("wds/train/00001.tar"), null, options).Captions);

        var shard = WriteTar(temp.File("bad/0.tar"), ("a.jpg", Bytes("a")), ("a.cls", Text("1")));
        var error = Assert.Throws<DatasetException>(() => CaptionPairDatasets.Open(temp.File("bad"), null, options));
        Assert.Contains($"{shard}: sample 'a' has no caption member 'a.txt' or 'a.json' (it has a.jpg, a.cls)", error.Message);
    }

    [Fact]
    public void Jsonl_files_still_read_as_before_and_unknown_formats_are_errors()
    {
        using var temp = new TestPaths.TempFolder();
        Touch(temp.File("a.jpg"));
        var path = Write(temp.File("captions.jsonl"), """{"image": "a.jpg", "captions": ["one", "two"]}""" + "\n");

        Assert.Equal([(temp.File("a.jpg"), ["one", "two"])], Pairs(CaptionPairDatasets.Open(path)));
        Assert.Contains("--split test", Assert.Throws<OptionException>(() => CaptionPairDatasets.Open(path, "test")).Message);
        var unknown = Assert.Throws<DatasetException>(() => CaptionPairDatasets.Open(Write(temp.File("pairs.parquet"), "x")));
        Assert.Contains("unknown captions format '.parquet'", unknown.Message);
        Assert.Contains("no .tar shards", Assert.Throws<DatasetException>(() => CaptionPairDatasets.Open(temp.Path)).Message);
    }
}
