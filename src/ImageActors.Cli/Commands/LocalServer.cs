using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using ImageActors.Cli.Configuration;
using ImageActors.Images.Hosting;
using ImageActors.Remotes.Incus;
using ImageActors.Server.Hosting;
using ImageActors.Server.Images;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImageActors.Cli.Commands;

/// <summary>
/// The local image server as the command line reaches it: the running <c>imageactors serve</c> over
/// its unix socket (trusted), or, when none runs, the store opened in this process behind a private
/// server on the same socket, so that every command takes the one code path of the REST API. The
/// data directory is owned by one process at a time (<see cref="DataDirectoryLock"/>).
/// </summary>
public sealed class LocalServer : IAsyncDisposable
{
    private readonly EmbeddedImageStore? _store;
    private readonly ImageActorsServer? _server;
    private readonly ILoggerFactory? _logs;

    private LocalServer(HttpClient client, string address, EmbeddedImageStore? store, ImageActorsServer? server, ILoggerFactory? logs = null)
    {
        Client = client;
        Address = address;
        _store = store;
        _server = server;
        _logs = logs;
    }

    /// <summary>An HTTP client whose base address is the server (over the unix socket).</summary>
    public HttpClient Client { get; }

    /// <summary>Where the server is reached (<c>unix:&lt;path&gt;</c>).</summary>
    public string Address { get; }

    /// <summary>Whether a separately running server answered (rather than the store opened here).</summary>
    public bool Shared => _server is null;

    /// <summary>
    /// Opens the store here, or, when another process owns the data directory and serves it on a unix socket, connects
    /// to that. The data directory's lock decides: whoever holds it owns the store.
    /// </summary>
    /// <exception cref="DataDirectoryInUseException">Another process owns the data directory and serves no unix socket.</exception>
    /// <param name="configuration">The command's configuration.</param>
    /// <param name="debug">Whether the store's own logs (Akka's warnings and errors, with their stacks) go to standard error;
    /// without it a command says what failed in its one line and the logs are dropped.</param>
    /// <param name="cancellationToken">Cancels the opening.</param>
    public static async Task<LocalServer> ConnectAsync(ImageActorsConfiguration configuration, bool debug, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var data = Path.GetFullPath(configuration.Node.DataDirectory);

        // A server that runs on the directory answers on the socket its lock file names: used at once, without
        // preparing a store (and its downloader and settings) that would only find the directory taken.
        if (DataDirectoryLock.ReadAnnouncedSocket(data) is { } announced && await AnswersAsync(announced, cancellationToken))
        {
            return new LocalServer(ClientFor(announced), "unix:" + announced, null, null);
        }

        var logs = debug
            ? LoggerFactory.Create(logging => logging.AddSimpleConsole(o => o.SingleLine = true).AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace))
            : NullLoggerFactory.Instance;
        EmbeddedImageStore store;
        try
        {
            store = await EmbeddedImageStore.OpenAsync(data, configuration.Persistence, configuration.Images, logs, configuration.AkkaHocon, actors: configuration.ActorSystem, cancellationToken: cancellationToken);
        }
        catch (DataDirectoryInUseException e) when (e.OwnerSocket is { } socket)
        {
            logs.Dispose();
            return new LocalServer(ClientFor(socket), "unix:" + socket, null, null);
        }
        catch
        {
            logs.Dispose();
            throw;
        }

        try
        {
            // A socket only this command uses: the lock is not told of it, so other commands wait for no short-lived owner.
            var server = ImageActorsServer.Create(
                new ListenSettings { DataDirectory = data, Https = [], Http = [], UnixSocket = true },
                services => services.AddSingleton<IImageBackend>(new ImageStoreBackend(store.Store, store.Copier)),
                logging => logging.SetMinimumLevel(LogLevel.Error));
            await server.StartAsync(cancellationToken);
            return new LocalServer(ClientFor(Path.Combine(data, "unix.socket")), "unix:" + Path.Combine(data, "unix.socket"), store, server, logs);
        }
        catch
        {
            await store.DisposeAsync();
            logs.Dispose();
            throw;
        }
    }

    /// <summary>GETs an Incus envelope and returns its metadata, or throws with the server's error text.</summary>
    public async Task<T> GetAsync<T>(string path, System.Text.Json.Serialization.Metadata.JsonTypeInfo<IncusResponse<T>> typeInfo, CancellationToken cancellationToken)
    {
        using var response = await Client.GetAsync(new Uri(path, UriKind.Relative), cancellationToken);
        return await ReadAsync(response, typeInfo, cancellationToken);
    }

    /// <summary>Reads an Incus envelope, throwing <see cref="CommandException"/> with the server's message on errors.</summary>
    public static async Task<T> ReadAsync<T>(HttpResponseMessage response, System.Text.Json.Serialization.Metadata.JsonTypeInfo<IncusResponse<T>> typeInfo, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            string message;
            try
            {
                message = JsonSerializer.Deserialize(body, IncusJsonContext.Default.IncusResponseJsonElement)?.Error ?? body;
            }
            catch (JsonException)
            {
                message = $"{(int)response.StatusCode} {response.ReasonPhrase}";
            }

            throw new CommandException(message);
        }

        var envelope = JsonSerializer.Deserialize(body, typeInfo) ?? throw new CommandException("The server sent an empty answer");
        return envelope.Metadata!;
    }

    /// <summary>Waits for an operation and throws with its error when it failed.</summary>
    public async Task<Operation> WaitAsync(Operation operation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var done = operation.StatusCode >= 200
            ? operation
            : await GetAsync($"/1.0/operations/{operation.Id}/wait?timeout=-1", IncusJsonContext.Default.IncusResponseOperation, cancellationToken);
        return done.StatusCode == 200 ? done : throw new CommandException(string.IsNullOrEmpty(done.Err) ? done.Status : done.Err);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        _logs?.Dispose();
    }

    // Whether something listens on the socket (a server that ended leaves its socket file behind).
    private static async Task<bool> AnswersAsync(string socketPath, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static HttpClient ClientFor(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), token);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var client = new HttpClient(handler) { BaseAddress = new Uri("http://localhost"), Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("imageactors", typeof(LocalServer).Assembly.GetName().Version?.ToString(3) ?? "0"));
        return client;
    }
}

/// <summary>An error to report to the user (one line, exit code 1).</summary>
public sealed class CommandException(string message) : Exception(message);
