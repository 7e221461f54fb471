using System.Globalization;
using System.Runtime.InteropServices;

namespace ImageActors.LoadTests.Reports;

/// <summary>The machine a run was taken on, as a report states it.</summary>
public static class RunEnvironment
{
    /// <summary>E.g. <c>2 cores (AMD EPYC …), 24 GiB, Debian GNU/Linux 12, .NET 10.0.1; load average 0.4 at start</c>.</summary>
    public static string Describe()
    {
        var cpu = ReadFirst("/proc/cpuinfo", "model name")?.Split(':', 2)[1].Trim() ?? RuntimeInformation.ProcessArchitecture.ToString();
        var memory = ReadFirst("/proc/meminfo", "MemTotal:") is { } m
            && long.TryParse(m.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture, out var kib)
            ? $"{kib / 1024.0 / 1024.0:0} GiB"
            : "memory unknown";
        var os = ReadFirst("/etc/os-release", "PRETTY_NAME=")?.Split('=', 2)[1].Trim('"') ?? RuntimeInformation.OSDescription;
        var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{Environment.ProcessorCount} cores ({cpu}), {memory}, {os}, {RuntimeInformation.FrameworkDescription}; load average {load} at the end");
    }

    private static string? ReadFirst(string file, string prefix)
    {
        try
        {
            return File.Exists(file) ? File.ReadLines(file).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
