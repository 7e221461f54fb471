using ImageActors.Images.Configuration;
using ImageActors.Remotes.Download;

namespace ImageActors.Server.Api;

/// <summary>
/// Configuration keys a client may set for the download its own <c>POST /1.0/images</c> starts, in the
/// <see cref="Header"/> header as <c>key=value</c> (the command line sends its <c>--set</c> that way to a running
/// server). Other keys are refused with 400: they belong to the server's configuration.
/// </summary>
public static class RequestSettings
{
    /// <summary>The header, repeatable, one <c>key=value</c> per value.</summary>
    public const string Header = "ImageActors-Set";

    private static readonly ConfigKey[] CarriedKeys = [ImagesOptions.Keys.DownloadStallTimeout, ImagesOptions.Keys.DownloadMaxRetryWait];

    /// <summary>The keys a request may carry.</summary>
    public static IReadOnlyList<string> Keys { get; } = [.. CarriedKeys.Select(k => k.Path)];

    /// <summary>Whether <paramref name="key"/> can be set per request.</summary>
    public static bool Carries(string key) => Keys.Contains(key, StringComparer.Ordinal);

    /// <summary>The download settings the header values give; null when there are none.</summary>
    /// <exception cref="InvalidDataException">A value is not <c>key=value</c>, names a key a request cannot set, or has a bad value.</exception>
    public static DownloadSettings? Parse(IEnumerable<string?> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var entries = values.Where(v => !string.IsNullOrWhiteSpace(v)).SelectMany(v => v!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        if (entries.Count == 0)
        {
            return null;
        }

        // Each value is read by its key's own syntax, not by a HOCON parser: a request is untrusted input.
        var given = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            var key = equals > 0 ? entry[..equals].Trim() : entry;
            if (equals <= 0 || !Carries(key))
            {
                throw new InvalidDataException(equals <= 0
                    ? $"{Header}: '{entry}' is not KEY=VALUE"
                    : $"{Header}: {key} cannot be set for one request (only {string.Join(", ", Keys)}); set it in the server's configuration and restart the server");
            }

            var configKey = CarriedKeys.First(k => k.Path == key);
            var value = entry[(equals + 1)..].Trim();
            if (value is ['"', .. var inner, '"'])
            {
                value = inner;
            }

            var problem = configKey.ValidateText(value);
            if (problem is not null || !ValueSyntax.TryParseDuration(value, configKey.PlainNumberUnit, out var duration))
            {
                throw new InvalidDataException($"{Header}: {key}: {problem ?? $"'{value}' is not a duration"}");
            }

            given[key] = duration;
        }

        return new DownloadSettings
        {
            StallTimeout = given.TryGetValue(ImagesOptions.Keys.DownloadStallTimeout.Path, out var stall) ? stall : null,
            MaxRetryWait = given.TryGetValue(ImagesOptions.Keys.DownloadMaxRetryWait.Path, out var wait) ? wait : null,
        };
    }
}
