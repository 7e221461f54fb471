using System.Net.Http.Headers;
using System.Text;
using ImageActors.Remotes;
using ImageActors.Remotes.Download;
using ImageActors.Remotes.SimpleStreams;

namespace ImageActors.Fuzz;

/// <summary>Targets of the remotes layer: the SimpleStreams index and products readers and the multipart reader of split exports.</summary>
public static class RemotesTargets
{
    private const string ServerBase = "https://127.0.0.1:8443/";

    private static readonly Uri IndexUrl = new(ServerBase + "streams/v1/index.json");

    /// <summary>Every remotes target.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("simplestreams-index", SimpleStreamsIndex),
        new("simplestreams-products", SimpleStreamsProducts),
        new("multipart", Multipart),
    ];

    // What the catalog fetch does with index.json: parse it and pick the products files to fetch next.
    private static void SimpleStreamsIndex(Stream input)
    {
        try
        {
            var index = SimpleStreamsRemote.ParseJson(ReadAll(input), SimpleStreamsJsonContext.Default.StreamIndex, IndexUrl);
            foreach (var path in SimpleStreamsRemote.ProductsPaths(index))
            {
                _ = SimpleStreamsRemote.UrlOf(ServerBase, path);
            }
        }
        catch (RemoteException)
        {
        }
    }

    // What the catalog fetch and the copy code do with a products file: parse, build the catalog, resolve every alias
    // and fingerprint, and turn each image into the download it would start.
    private static void SimpleStreamsProducts(Stream input)
    {
        try
        {
            var products = SimpleStreamsRemote.ParseJson(ReadAll(input), SimpleStreamsJsonContext.Default.ProductsFile, IndexUrl);
            var catalog = SimpleStreamsCatalog.Build([products], "x86_64");
            foreach (var image in catalog.Images)
            {
                _ = SimpleStreamsRemote.ToRemoteImage(image, ServerBase);
                try
                {
                    _ = catalog.FindFingerprint(image.Info.Fingerprint);
                }
                catch (InvalidOperationException)
                {
                    // Two images with one fingerprint: the remote answers it as a RemoteException naming the prefix.
                }
            }

            foreach (var alias in catalog.Aliases.ToList())
            {
                _ = catalog.FindAlias(alias.Name);
                _ = catalog.FindAlias(alias.Name, alias.Type);
            }
        }
        catch (RemoteException)
        {
        }
    }

    // A split export as the Incus client code reads it: the Content-Type header (the first line of the input) names the
    // boundary, the rest is the body; every part's headers and bytes are read.
    private static void Multipart(Stream input)
    {
        var all = ReadAll(input);
        var newline = Array.IndexOf(all, (byte)'\n');
        var header = Encoding.Latin1.GetString(all, 0, newline < 0 ? all.Length : newline).TrimEnd('\r');
        if (!MediaTypeHeaderValue.TryParse(header, out var contentType) || MultipartReader.BoundaryOf(contentType) is not { } boundary)
        {
            return;
        }

        using var body = new MemoryStream(all, newline < 0 ? all.Length : newline + 1, newline < 0 ? 0 : all.Length - newline - 1);
        try
        {
            using var reader = new MultipartReader(body, boundary, bufferSize: 1);
            while (reader.ReadNextSectionAsync().AsTask().GetAwaiter().GetResult() is { } section)
            {
                _ = section.Name;
                _ = section.FileName;
                FuzzTarget.Drain(section.Body);
            }
        }
        catch (Exception e) when (e is InvalidDataException || e.GetType() == typeof(IOException))
        {
        }
    }

    private static byte[] ReadAll(Stream input)
    {
        using var copy = new MemoryStream();
        input.CopyTo(copy);
        return copy.ToArray();
    }
}
