using System.Globalization;
using ImageActors.Remotes;
using ImageActors.Remotes.Incus;

namespace ImageActors.Cli.Commands;

/// <summary>
/// One side of <c>image copy</c>: the local store (over its unix socket) or a remote, reached over the Incus API
/// with the command line's client certificate. Simplestreams remotes have no API client: they can only be pulled from.
/// </summary>
internal sealed class CopyEndpoint : IDisposable
{
    private readonly string? _dataDirectory;

    private CopyEndpoint(Remote remote, IncusApiClient? api, string? dataDirectory = null)
    {
        Remote = remote;
        Api = api;
        _dataDirectory = dataDirectory;
    }

    /// <summary>The remote (<c>local</c> for the store).</summary>
    public Remote Remote { get; }

    /// <summary>The Incus API of the server, or null for a simplestreams remote.</summary>
    public IncusApiClient? Api { get; }

    /// <summary>Whether this is the local store.</summary>
    public bool IsLocal => Remote.Name == RemoteList.Local;

    /// <summary>The protocol another server uses to pull from this one.</summary>
    public string PullProtocol => Remote.Protocol == "imageactors" ? "incus" : Remote.Protocol;

    /// <summary>The Incus API, or an error naming the remote and the mode that needs it.</summary>
    public IncusApiClient RequireApi(string why) =>
        Api ?? throw new CommandException($"Remote \"{Remote.Name}\" speaks {Remote.Protocol}, which has no image API for {why}; use --mode pull into an image server");

    /// <summary>The local store, in <paramref name="project"/>.</summary>
    public static CopyEndpoint Local(LocalServer server, string? project) =>
        new(new Remote(RemoteList.Local, string.Empty, "imageactors", false, string.Empty), new IncusApiClient(server.Client, server.Client.BaseAddress!, project, ownsClient: false));

    /// <summary>A remote, presenting the client certificate of <paramref name="dataDirectory"/> unless it is a public image server.</summary>
    public static CopyEndpoint Connect(Remote remote, string dataDirectory, string? project)
    {
        if (remote.Protocol == "simplestreams")
        {
            return new CopyEndpoint(remote, null);
        }

        var connection = new RemoteConnection
        {
            ServerCertificatePem = string.IsNullOrEmpty(remote.Certificate) ? null : remote.Certificate,
            ClientCertificate = remote.Public ? null : ClientCertificate.LoadOrCreate(dataDirectory),
        };
        return new CopyEndpoint(remote, IncusApiClient.Connect(new Uri(remote.Url), connection, project), dataDirectory);
    }

    /// <summary>
    /// The URL and certificate PEM another server reaches this one at: the remote's own, or for the local store
    /// the HTTPS address the running server reports (an in-process store has none).
    /// </summary>
    public async Task<(Uri Url, string Certificate)> AddressAsync(string mode, CancellationToken cancellationToken)
    {
        if (!IsLocal)
        {
            return (new Uri(Remote.Url), Remote.Certificate);
        }

        var info = await Api!.GetServerAsync(cancellationToken);
        var address = info.Environment?.Addresses.FirstOrDefault()
            ?? throw new CommandException($"--mode {mode} needs the local store to be reachable over the network: run imageactors serve with an HTTPS address, or use --mode relay");

        // A wildcard listener is reached on the loopback from this machine; another machine needs a real remote.
        address = address.Replace("0.0.0.0:", "127.0.0.1:", StringComparison.Ordinal).Replace("[::]:", "[::1]:", StringComparison.Ordinal);
        return (new Uri("https://" + address), info.Environment?.Certificate ?? string.Empty);
    }

    /// <summary>
    /// The image <paramref name="name"/> (alias, fingerprint or prefix) names here, with its aliases; an alias of the
    /// wrong type for <paramref name="type"/> does not count.
    /// </summary>
    public async Task<Image> ResolveAsync(string name, string? type, string why, CancellationToken cancellationToken)
    {
        var api = RequireApi(why);
        var alias = await api.FindAliasAsync(name, cancellationToken);
        var target = alias is not null && (type is null || alias.Type.Length == 0 || alias.Type == type) ? alias.Target : name;
        try
        {
            return await api.GetImageAsync(target, cancellationToken);
        }
        catch (RemoteErrorResponseException e) when (e.StatusCode == 404)
        {
            // A private image looks missing to an untrusted client: say how to become trusted.
            var untrusted = !IsLocal && !Remote.Public && (await api.GetServerAsync(cancellationToken)).Auth != "trusted";
            throw new CommandException($"Image \"{name}\" not found on {Describe()}" + (untrusted
                ? $"; this command is not trusted there: add {ClientCertificate.CertificatePath(_dataDirectory!)} to its trusted certificates (lxc config trust add, incus config trust add-certificate, imageactors config trust add)"
                : string.Empty));
        }
    }

    /// <summary>
    /// <see cref="ResolveAsync(string, string?, string, CancellationToken)"/> on a remote, all of its requests within
    /// <paramref name="limit"/> (<c>images.remote_lookup_timeout</c>; zero bounds only each request), so that a source
    /// that takes the request and never answers ends the command in one line rather than holding it.
    /// </summary>
    /// <exception cref="CommandException">The remote did not answer within <paramref name="limit"/>.</exception>
    public async Task<Image> ResolveAsync(string name, string? type, string why, TimeSpan limit, CancellationToken cancellationToken)
    {
        if (IsLocal || limit <= TimeSpan.Zero)
        {
            return await ResolveAsync(name, type, why, cancellationToken);
        }

        using var timed = new CancellationTokenSource(limit);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timed.Token);
        try
        {
            return await ResolveAsync(name, type, why, deadline.Token);
        }
        catch (Exception e) when (timed.IsCancellationRequested && !cancellationToken.IsCancellationRequested && e is not CommandException)
        {
            throw new CommandException(string.Create(
                CultureInfo.InvariantCulture,
                $"{Describe()} did not answer the lookup of \"{name}\" within {limit.TotalSeconds:0.###} s (images.remote_lookup_timeout): check that the server is up, or raise that timeout"));
        }
    }

    /// <summary>How the endpoint is named in messages.</summary>
    public string Describe() => IsLocal ? "the local store" : $"remote \"{Remote.Name}\" ({Remote.Url})";

    /// <inheritdoc />
    public void Dispose() => Api?.Dispose();
}
