using System.CommandLine;
using System.Net;
using ImageActors.Cli.Configuration;
using ImageActors.Server.Configuration;
using ImageActors.Server.Hosting;

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

            await using var server = ImageActorsServer.Create(listen, services => ServerBackend.Add(services, configuration));
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
                await output.WriteLineAsync($"Listening on unix:{Path.GetFullPath(listen.UnixSocketPath)} (trusted)");
            }

            await output.WriteLineAsync($"Certificate fingerprint: {ServerCertificate.FingerprintOf(server.Certificate)}");
            await output.WriteLineAsync("Add it with: lxc remote add NAME " + (server.HttpsEndpoints.FirstOrDefault()?.ToString().TrimEnd('/') ?? "https://HOST:8443") + " --public --accept-certificate");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM: stop listening and let requests in flight finish.
            }

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
        var httpsAddress = https is null ? options.HttpsAddress : ServerOptions.ListenAddress.Parse(https);
        var httpAddress = http is null ? options.HttpAddress : ServerOptions.ListenAddress.Parse(http);
        var data = Path.GetFullPath(configuration.Node.DataDirectory);
        return new ListenSettings
        {
            DataDirectory = data,
            Https = [Endpoint(httpsAddress)],
            Http = httpAddress is null ? [] : [Endpoint(httpAddress)],
            UnixSocket = options.UnixSocket is not null,
        };
    }

    private static IPEndPoint Endpoint(ServerOptions.ListenAddress address)
    {
        if (IPAddress.TryParse(address.Host, out var ip))
        {
            return new IPEndPoint(ip, address.Port);
        }

        if (address.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return new IPEndPoint(IPAddress.Loopback, address.Port);
        }

        var resolved = Dns.GetHostAddresses(address.Host);
        return resolved.Length > 0
            ? new IPEndPoint(resolved[0], address.Port)
            : throw new FormatException($"'{address.Host}' does not resolve to an address");
    }
}
