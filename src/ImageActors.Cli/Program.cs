namespace ImageActors.Cli;

/// <summary>The <c>imageactors</c> command.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        Console.WriteLine(typeof(Program).Assembly.GetName().Version);
        return args.Length == 0 ? 0 : 0;
    }
}
