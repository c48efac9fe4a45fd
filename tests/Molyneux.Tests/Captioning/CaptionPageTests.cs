using System.Net;
using System.Text.RegularExpressions;
using Molyneux.Captioning;
using Molyneux.Imaging;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Tests.Captioning;

/// <summary><see cref="CaptionPage"/>: one table row per image with its caption, references and source, every text
/// HTML-encoded, the embedded PNG the image itself, and a write that cannot happen refused naming the file and leaving
/// nothing behind.</summary>
public sealed partial class CaptionPageTests
{
    /// <summary>A row of a page as read back: the embedded PNG, its shown size, and the decoded texts.</summary>
    internal sealed record ReadRow(byte[] Png, int ShownWidth, int ShownHeight, string Caption, IReadOnlyList<string> References, string? Source);

    /// <summary>The rows of a page <see cref="CaptionPage"/> wrote, read back with their texts decoded.</summary>
    internal static IReadOnlyList<ReadRow> Rows(string html) =>
        [.. Row().Matches(html).Select(row => new ReadRow(
            Convert.FromBase64String(row.Groups["png"].Value),
            int.Parse(row.Groups["width"].Value),
            int.Parse(row.Groups["height"].Value),
            WebUtility.HtmlDecode(row.Groups["caption"].Value),
            [.. Reference().Matches(row.Groups["references"].Value).Select(reference => WebUtility.HtmlDecode(reference.Groups["text"].Value))],
            row.Groups["source"].Success ? WebUtility.HtmlDecode(row.Groups["source"].Value) : null))];

    /// <summary>The image of a row decoded back into [3, H, W] in [0, 1].</summary>
    internal static Tensor Decode(byte[] png, TestPaths.TempFolder folder)
    {
        var path = folder.File($"{Guid.NewGuid():N}.png");
        File.WriteAllBytes(path, png);
        return ImageDecoder.Load(path);
    }

    /// <summary>Random images [N, 3, H, W] in [0, 1], multiples of 1/255 so a PNG holds them exactly.</summary>
    private static Tensor Images(int count, int height, int width)
    {
        using var generator = new Generator(5);
        using var bytes = randint(0, 256, [count, 3, height, width], generator: generator);
        using var values = bytes.to(ScalarType.Float32);
        return values.Over(255);
    }

    [Fact]
    public void The_page_has_one_row_per_image_with_its_caption_references_and_source_in_order()
    {
        using var images = Images(3, 32, 32);
        var pngs = CaptionPage.Pngs(images);
        var html = CaptionPage.Render(
        [
            new CaptionPageRow(pngs[0], "a red circle", ["a red circle on blue", "one red circle"], "test[0]"),
            new CaptionPageRow(pngs[1], "two green stars", [], "test[1]"),
            new CaptionPageRow(pngs[2], "a gray square", ["a gray square"], "test[2]"),
        ], "Samples", "model coca-shapes; greedy, 5–30 ids");

        var rows = Rows(html);
        Assert.Equal(3, rows.Count);
        Assert.Equal(["a red circle", "two green stars", "a gray square"], rows.Select(row => row.Caption));
        Assert.Equal([["a red circle on blue", "one red circle"], [], ["a gray square"]], rows.Select(row => row.References.ToArray()));
        Assert.Equal(["test[0]", "test[1]", "test[2]"], rows.Select(row => row.Source));
        Assert.Equal(3, Regex.Count(html, "<tr><td><img "));
        Assert.Contains("<title>Samples</title>", html);
        Assert.Contains("<p>model coca-shapes; greedy, 5–30 ids</p>", html);
        Assert.Contains("<th>references</th>", html);
        Assert.Contains("<th>source</th>", html);
    }

    [Fact]
    public void Columns_no_row_fills_are_left_out()
    {
        using var images = Images(2, 8, 8);
        var pngs = CaptionPage.Pngs(images);
        var html = CaptionPage.Render([new CaptionPageRow(pngs[0], "one"), new CaptionPageRow(pngs[1], "two")], "Captions");

        Assert.Equal(["one", "two"], Rows(html).Select(row => row.Caption));
        Assert.DoesNotContain("<th>references</th>", html);
        Assert.DoesNotContain("<th>source</th>", html);
        Assert.DoesNotContain("<p>", html);
    }

    [Fact]
    public void Captions_references_sources_and_title_are_html_encoded()
    {
        const string caption = "a <b>bold</b> & \"quoted\" 'star' </td></tr><script>alert(1)</script>";
        const string reference = "x < y && y > z";
        const string source = "images/\"odd\" & <name>.png";
        using var images = Images(1, 4, 4);
        var html = CaptionPage.Render([new CaptionPageRow(CaptionPage.Pngs(images)[0], caption, [reference], source)], "<Title> & co", "a \"header\" <line>");

        Assert.DoesNotContain("<b>", html);
        Assert.DoesNotContain("<script>", html);
        Assert.DoesNotContain("<name>", html);
        Assert.Contains("a &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot; &#39;star&#39;", html);
        Assert.Contains("<title>&lt;Title&gt; &amp; co</title>", html);
        Assert.Contains("<p>a &quot;header&quot; &lt;line&gt;</p>", html);
        var row = Assert.Single(Rows(html));
        Assert.Equal(caption, row.Caption);
        Assert.Equal([reference], row.References);
        Assert.Equal(source, row.Source);
    }

    [Fact]
    public void The_embedded_png_decodes_back_to_the_image_and_small_images_are_shown_scaled_by_a_whole_factor()
    {
        using var folder = new TestPaths.TempFolder();
        using var small = Images(1, 32, 20);
        using var large = Images(1, 160, 224);
        var html = CaptionPage.Render([new CaptionPageRow(CaptionPage.Pngs(small)[0], "small"), new CaptionPageRow(CaptionPage.Pngs(large)[0], "large")], "Captions");

        var rows = Rows(html);
        using var smallBack = Decode(rows[0].Png, folder);
        using var largeBack = Decode(rows[1].Png, folder);
        Assert.Equal([3L, 32, 20], smallBack.shape);
        Assert.Equal([3L, 160, 224], largeBack.shape);
        TensorAssert.Close(small[0], smallBack, 1e-6);
        TensorAssert.Close(large[0], largeBack, 1e-6);
        // 32 px reaches 128 at 4×, keeping the aspect; 224 px is already large enough.
        Assert.Equal((80, 128), (rows[0].ShownWidth, rows[0].ShownHeight));
        Assert.Equal((224, 160), (rows[1].ShownWidth, rows[1].ShownHeight));
        Assert.Contains("image-rendering: pixelated", html);
    }

    [Fact]
    public void Model_input_pngs_are_the_files_as_the_model_sees_them()
    {
        using var folder = new TestPaths.TempFolder();
        using var image = Images(1, 48, 64);
        var path = folder.File("wide.png");
        ImageDecoder.SavePng(path, image[0]);
        var processor = ClipImageProcessor.Default(32);

        var png = Assert.Single(CaptionPage.ModelInputPngs(processor, [path]));

        using var seen = processor.PreprocessFiles([path]);
        using var expected = processor.Denormalize(seen);
        using var back = Decode(png, folder);
        Assert.Equal([3L, 32, 32], back.shape);
        // The PNG rounds to bytes.
        TensorAssert.Close(expected[0].AtLeast(0).AtMost(1), back, 0.5 / 255 + 1e-6);
    }

    [Fact]
    public void A_row_whose_image_is_not_a_png_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => CaptionPage.Render([new CaptionPageRow([1, 2, 3], "caption")], "Captions"));
        Assert.Contains("row 1", error.Message);
        Assert.Contains("not a PNG", error.Message);
    }

    [Fact]
    public void A_page_that_cannot_be_written_is_refused_naming_the_file_and_nothing_is_left()
    {
        using var folder = new TestPaths.TempFolder();
        using var images = Images(1, 8, 8);
        IReadOnlyList<CaptionPageRow> rows = [new CaptionPageRow(CaptionPage.Pngs(images)[0], "caption")];

        // The folder cannot be made: a file stands where it should be.
        File.WriteAllText(folder.File("taken"), "a file");
        var underFile = Path.Combine(folder.File("taken"), "pages", "page.html");
        var error = Assert.Throws<IOException>(() => CaptionPage.Write(underFile, rows, "Captions"));
        Assert.Contains(underFile, error.Message);
        Assert.Contains("cannot write the caption page", error.Message);
        Assert.Equal("a file", File.ReadAllText(folder.File("taken")));

        // A folder stands where the page should go: the page written so far (a temporary file) is removed.
        var occupied = folder.File("page.html");
        Directory.CreateDirectory(occupied);
        error = Assert.Throws<IOException>(() => CaptionPage.Write(occupied, rows, "Captions"));
        Assert.Contains(occupied, error.Message);
        Assert.Equal([folder.File("taken")], Directory.GetFiles(folder.Path));
        Assert.Empty(Directory.GetFileSystemEntries(occupied));
    }

    [Fact]
    public void A_written_page_is_the_rendered_one()
    {
        using var folder = new TestPaths.TempFolder();
        using var images = Images(2, 8, 8);
        var pngs = CaptionPage.Pngs(images);
        IReadOnlyList<CaptionPageRow> rows = [new CaptionPageRow(pngs[0], "one", Source: "a.png"), new CaptionPageRow(pngs[1], "two", Source: "b.png")];
        var path = folder.File(Path.Combine("new folder", "page.html"));

        CaptionPage.Write(path, rows, "Captions", "header");

        Assert.Equal(CaptionPage.Render(rows, "Captions", "header"), File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [GeneratedRegex("""<tr><td><img src="data:image/png;base64,(?<png>[A-Za-z0-9+/=]+)" width="(?<width>\d+)" height="(?<height>\d+)" alt="[^"]*"></td><td class="caption">(?<caption>[^<]*)</td>(?:<td><ul class="references">(?<references>.*?)</ul></td>)?(?:<td class="source">(?<source>[^<]*)</td>)?</tr>""")]
    private static partial Regex Row();

    [GeneratedRegex("<li>(?<text>[^<]*)</li>")]
    private static partial Regex Reference();
}
