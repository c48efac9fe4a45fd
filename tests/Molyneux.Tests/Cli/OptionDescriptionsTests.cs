using System.CommandLine;
using System.CommandLine.Help;
using Molyneux.Cli;

namespace Molyneux.Tests.Cli;

/// <summary>--help is the CLI's manual: every option of every command says what its value means.</summary>
public sealed class OptionDescriptionsTests
{
    [Fact]
    public void Every_option_of_every_command_has_a_description()
    {
        var root = MolyneuxCli.CreateRoot(TextWriter.Null, TextWriter.Null);
        var undocumented = new List<string>();
        var walked = 0;
        void Walk(Command command, string path)
        {
            walked++;
            foreach (var option in command.Options)
                if (option is not (HelpOption or VersionOption) && string.IsNullOrWhiteSpace(option.Description))
                    undocumented.Add($"{path} {option.Name}");
            foreach (var subcommand in command.Subcommands)
                Walk(subcommand, $"{path} {subcommand.Name}");
        }
        Walk(root, "molyneux");
        Assert.True(walked > 20, $"walked only {walked} commands; the tree was not built");
        Assert.True(undocumented.Count == 0, "options without a description:\n" + string.Join("\n", undocumented));
    }

    [Fact]
    public void The_global_options_are_described_in_the_root_help()
    {
        var result = CliRunner.Run("--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--threads", result.Output);
        Assert.Contains("--quiet", result.Output);
        Assert.Contains("libtorch's choice", result.Output);
    }
}
