namespace Molyneux.Cli;

public static class Program
{
    public static int Main(string[] args) => MolyneuxCli.Run(args, Console.Out, Console.Error);
}
