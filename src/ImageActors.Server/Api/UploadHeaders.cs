using ImageActors.Images.Domain;
using ImageActors.Streaming;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace ImageActors.Server.Api;

/// <summary>
/// The <c>X-Incus-*</c> headers of a raw upload (spec §2.8), read under both the Incus and the
/// LXD (<c>X-LXD-*</c>) spellings.
/// </summary>
/// <param name="Fingerprint">Expected fingerprint, if given.</param>
/// <param name="Filename">Stored file name.</param>
/// <param name="Public">Public flag.</param>
/// <param name="Properties">Properties (all headers merged, later wins).</param>
/// <param name="Profiles">Profiles, or null when not given.</param>
/// <param name="Aliases">Aliases to create.</param>
/// <param name="Secret">Push-mode secret.</param>
public sealed record UploadHeaders(
    Fingerprint? Fingerprint,
    string Filename,
    bool Public,
    IReadOnlyDictionary<string, string> Properties,
    IReadOnlyList<string>? Profiles,
    IReadOnlyList<AliasName> Aliases,
    string Secret)
{
    /// <summary>Reads the headers.</summary>
    /// <exception cref="FormatException">A header value is malformed; the message names it.</exception>
    /// <exception cref="InvalidAliasNameException">An alias name is invalid.</exception>
    public static UploadHeaders Read(IHeaderDictionary headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var fingerprintText = One(headers, "fingerprint");
        Fingerprint? fingerprint = null;
        if (!string.IsNullOrEmpty(fingerprintText))
        {
            fingerprint = Streaming.Fingerprint.TryParse(fingerprintText.Trim(), out var fp)
                ? fp
                : throw new FormatException($"X-Incus-fingerprint \"{fingerprintText}\" is not a fingerprint (64 hex digits)");
        }

        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in All(headers, "properties"))
        {
            foreach (var (key, values) in QueryHelpers.ParseQuery(value))
            {
                properties[key] = values.ToString();
            }
        }

        return new UploadHeaders(
            fingerprint,
            One(headers, "filename") ?? string.Empty,
            IsTruthy(One(headers, "public")),
            properties,
            ListOrBare(headers, "profiles", "profile"),
            [.. (ListOrBare(headers, "aliases", "alias") ?? []).Select(AliasName.Parse)],
            One(headers, "secret") ?? string.Empty);
    }

    // Go's strconv.ParseBool, which Incus uses: 1, t, T, TRUE, true, True.
    private static bool IsTruthy(string? value) => value is "1" or "t" or "T" or "TRUE" or "true" or "True";

    private static string? One(IHeaderDictionary headers, string name)
    {
        var value = headers["X-Incus-" + name];
        if (StringValues.IsNullOrEmpty(value))
        {
            value = headers["X-LXD-" + name];
        }

        return StringValues.IsNullOrEmpty(value) ? null : value[0];
    }

    private static IEnumerable<string> All(IHeaderDictionary headers, string name) =>
        headers["X-Incus-" + name].Concat(headers["X-LXD-" + name]).Where(v => !string.IsNullOrEmpty(v))!;

    // "profile=a&profile=b", or a single bare name.
    private static List<string>? ListOrBare(IHeaderDictionary headers, string header, string key)
    {
        List<string>? result = null;
        foreach (var value in All(headers, header))
        {
            result ??= [];
            if (value.Contains('=', StringComparison.Ordinal))
            {
                var parsed = QueryHelpers.ParseQuery(value);
                if (parsed.TryGetValue(key, out var names))
                {
                    result.AddRange(names.Where(n => !string.IsNullOrEmpty(n))!);
                }
            }
            else
            {
                result.Add(Uri.UnescapeDataString(value));
            }
        }

        return result;
    }
}
