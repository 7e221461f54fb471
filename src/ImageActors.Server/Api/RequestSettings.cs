using ImageActors.Actors.Configuration;
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

    /// <summary>The keys a request may carry.</summary>
    public static IReadOnlyList<string> Keys { get; } = [ImagesOptions.Keys.DownloadStallTimeout.Path, ImagesOptions.Keys.DownloadMaxRetryWait.Path];

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

        var text = new System.Text.StringBuilder();
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

            text.Append(key).Append(" = ").Append(entry[(equals + 1)..].Trim()).Append('\n');
        }

        ImagesOptions options;
        try
        {
            options = ImagesOptions.Bind(HoconConfig.Parse(text.ToString()));
        }
        catch (Exception e) when (e is ConfigurationException or FormatException)
        {
            throw new InvalidDataException($"{Header}: {e.Message}", e);
        }

        var given = entries.Select(e => e[..e.IndexOf('=', StringComparison.Ordinal)].Trim()).ToHashSet(StringComparer.Ordinal);
        return new DownloadSettings
        {
            StallTimeout = given.Contains(ImagesOptions.Keys.DownloadStallTimeout.Path) ? options.DownloadStallTimeout : null,
            MaxRetryWait = given.Contains(ImagesOptions.Keys.DownloadMaxRetryWait.Path) ? options.DownloadMaxRetryWait : null,
        };
    }
}
