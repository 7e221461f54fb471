using System.Diagnostics;

namespace ImageActors.Streaming.Tests;

/// <summary>Runs the reference command-line tools the tests cross-check against.</summary>
internal static class Shell
{
    /// <summary>Runs <paramref name="script"/> with <c>sh -c</c> in <paramref name="workingDirectory"/>; throws with stderr on failure.</summary>
    public static string Run(string script, string? workingDirectory = null, IDictionary<string, string>? environment = null, int timeoutSeconds = 120)
    {
        var info = new ProcessStartInfo("sh", ["-c", script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                info.Environment[k] = v;
            }
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{script}' did not finish in {timeoutSeconds} s.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{script}' exited with {process.ExitCode}: {stderr.Result}");
        }

        return stdout.Result;
    }

    /// <summary>Quotes a path for <c>sh</c>.</summary>
    public static string Q(string path) => "'" + path.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Whether a program is on the PATH.</summary>
    public static bool Has(string program)
    {
        try
        {
            Run("command -v " + program);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
