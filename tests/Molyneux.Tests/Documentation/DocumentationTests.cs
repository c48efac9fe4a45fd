using System.Text.RegularExpressions;

namespace Molyneux.Tests.Documentation;

/// <summary>The README is a user's guide: short, the two commands and the demo's table on its first screen, CI
/// running its test command; and no relative link in it or in docs/ points at nothing.</summary>
public partial class DocumentationTests
{
    private const string DemoCommand = "./molyneux demo";
    private const string TestCommand = "dotnet test Molyneux.slnx --filter \"Category!=Slow\"";

    private static string Root => TestPaths.RepositoryRoot;

    public static TheoryData<string> MarkdownFiles()
    {
        var files = new TheoryData<string>();
        files.Add("README.md");
        foreach (var file in Directory.GetFiles(Path.Combine(Root, "docs"), "*.md", SearchOption.AllDirectories).Order())
            files.Add(Path.GetRelativePath(Root, file));
        return files;
    }

    [Fact]
    public void Readme_IsShort_AndItsFirstScreenHasTheTwoCommandsAndTheDemoTable()
    {
        var readme = Path.Combine(Root, "README.md");
        var firstScreen = string.Join("\n", File.ReadLines(readme).Take(60));

        Assert.InRange(new FileInfo(readme).Length, 1, 15 * 1024);
        Assert.Contains($"```bash\n{DemoCommand}\n{TestCommand}\n```", firstScreen);
        Assert.Contains("<!-- demo-table:start -->", firstScreen);
        Assert.Contains("<!-- demo-table:end -->", firstScreen);
        Assert.DoesNotContain("apt-get install", File.ReadAllText(readme));
    }

    [Fact]
    public void Ci_RunsTheReadmesTestCommand()
    {
        Assert.Contains($"\n{TestCommand} ", File.ReadAllText(Path.Combine(Root, ".ci", "run")));
    }

    [Theory]
    [MemberData(nameof(MarkdownFiles))]
    public void RelativeLinks_ResolveToFilesAndHeadings(string relativePath)
    {
        var path = Path.Combine(Root, relativePath);
        var broken = new List<string>();
        foreach (Match link in Link().Matches(WithoutCode(File.ReadAllText(path))))
        {
            var target = link.Groups["target"].Value;
            if (Uri.TryCreate(target, UriKind.Absolute, out _)) continue;
            var (file, anchor) = target.IndexOf('#') is var hash and >= 0 ? (target[..hash], target[(hash + 1)..]) : (target, null);
            var resolved = file.Length == 0 ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, Uri.UnescapeDataString(file)));
            if (!File.Exists(resolved) && !Directory.Exists(resolved)) broken.Add($"{target}: no such file");
            else if (anchor is not null && resolved.EndsWith(".md", StringComparison.Ordinal) && !Anchors(resolved).Contains(anchor))
                broken.Add($"{target}: no heading with the anchor #{anchor}");
        }
        Assert.True(broken.Count == 0, $"{relativePath}:\n" + string.Join("\n", broken));
    }

    /// <summary>GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered.</summary>
    private static HashSet<string> Anchors(string markdownFile)
    {
        var anchors = new HashSet<string>();
        foreach (var line in Fence().Replace(File.ReadAllText(markdownFile), "").Split('\n'))
        {
            var heading = Heading().Match(line);
            if (!heading.Success) continue;
            var slug = Punctuation().Replace(heading.Groups["text"].Value.Trim().ToLowerInvariant(), "").Replace(' ', '-');
            var unique = slug;
            for (var n = 1; !anchors.Add(unique); n++) unique = $"{slug}-{n}";
        }
        return anchors;
    }

    private static string WithoutCode(string markdown) => InlineCode().Replace(Fence().Replace(markdown, ""), "");

    [GeneratedRegex(@"\[[^\]]*\]\((?<target>[^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^#{1,6}\s+(?<text>.+?)\s*#*\s*$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"[^\p{L}\p{N}\s_-]")]
    private static partial Regex Punctuation();

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex Fence();

    [GeneratedRegex(@"`[^`\n]*`")]
    private static partial Regex InlineCode();
}
