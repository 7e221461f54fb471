using System.Formats.Tar;
using System.Net.Http.Headers;
using System.Text;
using ImageActors.Images.Configuration;
using ImageActors.Images.Remote;
using ImageActors.Server.Hosting;

namespace ImageActors.Server.Tests.Support;

/// <summary>Real embedded stores and tiny real images for tests that put two servers side by side.</summary>
internal static class EmbeddedStores
{
    /// <summary>A store on SQLite under <paramref name="data"/>, with the periodic auto-update off so only the test refreshes.</summary>
    /// <param name="data">The data directory.</param>
    /// <param name="upstreams">The appliance's upstreams, if any.</param>
    /// <param name="images">Changes to the <c>images.*</c> options.</param>
    /// <param name="actors">The <c>actors.*</c> options, or the defaults.</param>
    public static Task<EmbeddedImageStore> OpenAsync(string data, IReadOnlyList<RemoteSource>? upstreams = null, Func<ImagesOptions, ImagesOptions>? images = null, ActorSystemOptions? actors = null)
    {
        var options = new ImagesOptions { AutoUpdateInterval = TimeSpan.Zero, Upstreams = upstreams ?? [] };
        return EmbeddedImageStore.OpenAsync(
            data,
            new PersistenceOptions { SqlitePath = Path.Combine(data, "journal.db") },
            images is null ? options : images(options),
            verifyMessages: true,
            actors: actors);
    }

    /// <summary>Writes a unified container image (plain tar) for <paramref name="os"/> <paramref name="release"/> into <paramref name="directory"/>.</summary>
    public static string WriteImage(string directory, string os, string release)
    {
        var path = Path.Combine(directory, $"{os}-{release}.tar");
        using (var file = File.Create(path))
        using (var tar = new TarWriter(file, TarEntryFormat.Pax))
        {
            var yaml = $"architecture: x86_64\ncreation_date: 1767225600\nproperties:\n  os: {os}\n  release: \"{release}\"\n";
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "metadata.yaml") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(yaml)) });
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "rootfs/etc/os-release") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(os + " " + release + "\n")) });
        }

        return path;
    }

    /// <summary>An HTTPS client of <paramref name="server"/> that presents <paramref name="token"/> as a trusted platform.</summary>
    public static HttpClient TrustedClient(LoopbackServer server, string token)
    {
        var client = server.HttpsClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
