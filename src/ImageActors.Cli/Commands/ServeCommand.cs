using System.CommandLine;
using ImageActors.Cli.Configuration;
using ImageActors.Images.Hosting;
using ImageActors.Persistence;
using ImageActors.Server.Hosting;
using ImageActors.Server.Images;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ImageActors.Cli.Commands;

/// <summary><c>imageactors serve</c>: run the Incus-compatible image server.</summary>
public static class ServeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(GlobalOptions globals)
    {
        ArgumentNullException.ThrowIfNull(globals);
        var https = new Option<string?>("--https")
        {
            Description = "HTTPS listen address (overrides server.https_address; default 127.0.0.1:8443)",
            HelpName = "ADDR:PORT",
        };
        var http = new Option<string?>("--http")
        {
            Description = "Also serve plain HTTP here, for a loopback or a proxy (overrides server.http_address)",
            HelpName = "ADDR:PORT",
        };
        var serve = new Command("serve", "Run the image server: Incus REST API and SimpleStreams over HTTPS, and the local unix socket")
        {
            https,
            http,
        };
        serve.SetAction((parseResult, cancellationToken) => globals.WithConfigurationAsync(parseResult, async configuration =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            ListenSettings listen;
            try
            {
                listen = Listen(configuration, parseResult.GetValue(https), parseResult.GetValue(http));
            }
            catch (FormatException e)
            {
                await error.WriteLineAsync($"error: {e.Message}");
                return ExitCodes.Failure;
            }

            // The store's downloads log their retries, ignored ranges and failed sources where the server logs.
            using var storeLogs = LoggerFactory.Create(logging => logging.AddSimpleConsole(o => o.SingleLine = true));
            EmbeddedImageStore embedded;
            try
            {
                embedded = await EmbeddedImageStore.OpenAsync(listen.DataDirectory, configuration.Persistence, configuration.Images, storeLogs, configuration.AkkaHocon, actors: configuration.ActorSystem, cancellationToken: cancellationToken);
            }
            catch (Exception e) when (e is DataDirectoryInUseException or JournalUnavailableException)
            {
                await error.WriteLineAsync($"error: {e.Message}");
                return ExitCodes.Failure;
            }
            catch (Exception e) when (e is IOException or NotSupportedException or UnauthorizedAccessException)
            {
                await error.WriteLineAsync($"error: cannot open the image store in {listen.DataDirectory}: {e.Message}");
                await error.WriteLineAsync("Another imageactors process may own this data directory; stop it or choose another with --data.");
                return ExitCodes.Failure;
            }

            await using var store = embedded;
            await using var server = ImageActorsServer.Create(listen, services => services.AddSingleton<IImageBackend>(new ImageStoreBackend(embedded.Store, embedded.Copier, embedded.PullThrough)));
            try
            {
                await server.StartAsync(cancellationToken);
            }
            catch (IOException e)
            {
                await error.WriteLineAsync($"error: cannot listen: {e.Message}");
                await error.WriteLineAsync("Is another server running on this address or data directory? Choose another with --https / --data.");
                return ExitCodes.Failure;
            }

            foreach (var url in server.HttpsEndpoints.Concat(server.HttpEndpoints))
            {
                await output.WriteLineAsync($"Listening on {url}");
            }

            if (listen.UnixSocket)
            {
                // Commands that would open the store find the socket in the data directory's lock and use it instead.
                embedded.Store.DirectoryLock.AnnounceSocket(listen.UnixSocketPath);
                await output.WriteLineAsync($"Listening on unix:{Path.GetFullPath(listen.UnixSocketPath)} (trusted)");
            }

            await output.WriteLineAsync($"Certificate fingerprint: {ServerCertificate.FingerprintOf(server.Certificate)}");
            if (configuration.Images.Replicas > 1)
            {
                // Say so rather than let the operator believe the files are on several nodes.
                await error.WriteLineAsync(
                    $"warning: images.replicas = {configuration.Images.Replicas}, but this node is the only member of its cluster: each image file is kept once, here");
            }

            var address = server.HttpsEndpoints.FirstOrDefault()?.ToString().TrimEnd('/') ?? "https://HOST:8443";
            await output.WriteLineAsync($"Add it with: incus remote add NAME {address} --accept-certificate (LXD: lxc remote add NAME {address} --public --accept-certificate)");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM: stop listening and let requests in flight finish.
            }

            // From here commands are told the directory is in use rather than sent to a socket that is about to close.
            embedded.Store.DirectoryLock.AnnounceSocket(null);
            await server.StopAsync(CancellationToken.None);
            return ExitCodes.Success;
        }));
        return serve;
    }

    /// <summary>The listen settings from the configuration and the command's overrides.</summary>
    /// <exception cref="FormatException">An address is malformed or cannot be resolved.</exception>
    public static ListenSettings Listen(ImageActorsConfiguration configuration, string? https, string? http)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = configuration.Server;
        var httpsAddress = https is null ? options.HttpsAddress : ListenSettings.ParseEndpoint(https);
        var httpAddress = http is null ? options.HttpAddress : ListenSettings.ParseEndpoint(http);
        var data = Path.GetFullPath(configuration.Node.DataDirectory);
        return new ListenSettings
        {
            DataDirectory = data,
            Https = [httpsAddress],
            Http = httpAddress is null ? [] : [httpAddress],
            UnixSocket = options.UnixSocket is not null,
            Limits = options.Limits,
        };
    }
}
