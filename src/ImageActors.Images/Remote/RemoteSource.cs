using System.Collections.Concurrent;
using ImageActors.Images.Domain;
using ImageActors.Remotes;
using ImageActors.Remotes.Direct;
using ImageActors.Remotes.Download;
using ImageActors.Remotes.Incus;
using ImageActors.Remotes.SimpleStreams;

namespace ImageActors.Images.Remote;

/// <summary>A remote image server as Incus names one in <c>POST /1.0/images</c>'s <c>source</c>.</summary>
/// <param name="Server">The server URL (for <c>direct</c>, the image URL itself).</param>
/// <param name="Protocol"><c>incus</c>, <c>lxd</c>, <c>simplestreams</c> or <c>direct</c>.</param>
/// <param name="Certificate">PEM of the server's certificate to pin, or empty for a CA-signed one.</param>
/// <param name="Project">The project to read from on an Incus server, or null for its default.</param>
public sealed record RemoteSource(Uri Server, string Protocol = "incus", string Certificate = "", string? Project = null)
{
    /// <summary>The protocol as the image record stores it.</summary>
    public SourceProtocol RecordedProtocol => Protocol switch
    {
        "simplestreams" => SourceProtocol.SimpleStreams,
        "direct" => SourceProtocol.Direct,
        "oci" => SourceProtocol.Oci,
        _ => SourceProtocol.Incus,
    };

    /// <summary>The source an image record's <c>update_source</c> names.</summary>
    public static RemoteSource From(UpdateSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var protocol = source.Protocol switch
        {
            SourceProtocol.SimpleStreams => "simplestreams",
            SourceProtocol.Direct => "direct",
            SourceProtocol.Oci => "oci",
            _ => "incus",
        };
        return new RemoteSource(new Uri(source.Server), protocol, source.Certificate);
    }
}

/// <summary>
/// Opens protocol clients for remote sources and keeps one per source, so that many copies from the same
/// server share its connections (and a SimpleStreams index is fetched once per its time to live).
/// </summary>
public sealed class RemoteImageSources : IDisposable
{
    private readonly ConcurrentDictionary<RemoteSource, Lazy<IImageRemote>> _open = new();

    /// <summary>Creates the set; downloads share <paramref name="downloader"/> (its parallelism bound covers them all).</summary>
    /// <param name="downloader">The downloader every client uses.</param>
    /// <param name="connection">How every client reaches its server.</param>
    /// <param name="architecture">
    /// The canonical architecture aliases resolve for where the client chooses (a SimpleStreams product, an image URL
    /// server asked by our architectures): <c>images.default_architecture</c>; null = the host's.
    /// </param>
    public RemoteImageSources(ImageDownloader downloader, RemoteConnection? connection = null, string? architecture = null)
    {
        Downloader = downloader ?? throw new ArgumentNullException(nameof(downloader));
        Connection = connection ?? new RemoteConnection();
        Architecture = architecture;
    }

    /// <summary>The architecture aliases resolve for, or null for the host's.</summary>
    public string? Architecture { get; }

    /// <summary>How every client reaches its server (a source's pinned certificate is added to it).</summary>
    public RemoteConnection Connection { get; }

    /// <summary>The downloader every client uses.</summary>
    public ImageDownloader Downloader { get; }

    /// <summary>The client for <paramref name="source"/>, created on first use.</summary>
    /// <exception cref="ArgumentException">The protocol is not one this server speaks.</exception>
    public IImageRemote Open(RemoteSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return _open.GetOrAdd(source, s => new Lazy<IImageRemote>(() => Create(s))).Value;
    }

    private IImageRemote Create(RemoteSource source)
    {
        var connection = source.Certificate.Length > 0 ? Connection with { ServerCertificatePem = source.Certificate } : Connection;
        return source.Protocol switch
        {
            "incus" or "lxd" or "" => new IncusRemote(source.Server, Downloader, connection, source.Protocol.Length == 0 ? "incus" : source.Protocol, source.Project),
            "simplestreams" => new SimpleStreamsRemote(source.Server, Downloader, connection, Architecture),
            "direct" => new DirectRemote(source.Server, Downloader, connection, Architecture is { } chosen ? [chosen, .. Architectures.Personalities(chosen)] : null),
            _ => throw new ArgumentException($"Unsupported remote protocol \"{source.Protocol}\"", nameof(source)),
        };
    }

    /// <summary>Closes every client.</summary>
    public void Dispose()
    {
        foreach (var remote in _open.Values.Where(l => l.IsValueCreated))
        {
            remote.Value.Dispose();
        }

        _open.Clear();
    }
}
