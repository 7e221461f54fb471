namespace ImageActors.Cli;

/// <summary>The exit codes of <c>imageactors</c>.</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>The command failed, or its arguments could not be parsed.</summary>
    public const int Failure = 1;

    /// <summary>The command was interrupted (Ctrl-C: 128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;

    /// <summary>The configuration is invalid (EX_CONFIG from sysexits.h); stderr names each key, file and line.</summary>
    public const int InvalidConfiguration = 78;
}
