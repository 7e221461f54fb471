using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using ImageActors.Server.Hosting;
using ImageActors.Server.Tests.Support;

namespace ImageActors.IntegrationTests.Support;

/// <summary>
/// A real LXD or Incus daemon with a private, throwaway <c>LXD_DIR</c> / <c>INCUS_DIR</c>: started once for the tests
/// of its collection, shut down and removed afterwards, whatever the tests did. Containers need not run here; only
/// the daemon's image store is used. Needs root (the daemon runs with <c>--group root</c>); where it cannot start,
/// the tests fail with the reason and the log's tail rather than skip. The daemon trusts the system's certificate
/// authorities and one server certificate more, which a test's <c>imageactors serve</c> uses
/// (<see cref="UseTrustedServeCertificate"/>), so that the daemon can fetch from it by URL over HTTPS as from any
/// server with a proper certificate: Go reads <c>SSL_CERT_FILE</c>, and the machine's own store is left alone.
/// </summary>
public abstract class PeerDaemon : IAsyncLifetime
{
    private const int WaitReadyAttempts = 3;
    private readonly StringBuilder _output = new();
    private readonly PeerClient _client;
    private readonly TempDirectory _tls = new();
    private Process? _process;
    private Uri? _https;

    protected PeerDaemon(PeerKind kind)
    {
        Kind = kind;
        _client = new PeerClient(kind);
        Directory = CreateDirectory(kind.Client);
        CreateServeCertificate();
    }

    /// <summary>Which daemon this is.</summary>
    public PeerKind Kind { get; }

    /// <summary>The daemon's private <c>LXD_DIR</c> or <c>INCUS_DIR</c>.</summary>
    public string Directory { get; }

    /// <summary>The daemon's HTTPS address once <see cref="ListenHttpsAsync"/> ran.</summary>
    public Uri Https => _https ?? throw new InvalidOperationException("call ListenHttpsAsync first");

    /// <summary>The daemon's server certificate (PEM), to pin when connecting to <see cref="Https"/>.</summary>
    public string CertificatePath => Path.Combine(Directory, "server.crt");

    /// <summary>The certificate authorities the daemon trusts (<c>SSL_CERT_FILE</c>): the system's and the serve certificate.</summary>
    public string CertificateAuthoritiesPath => Path.Combine(_tls.Path, "ca-certificates.crt");

    /// <summary>The daemon's log file.</summary>
    public string LogPath => Path.Combine(Directory, "daemon.log");

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        try
        {
            await StartAsync();
        }
        catch
        {
            // xUnit does not dispose a fixture whose start failed: stop what did start and remove the folder here.
            await DisposeAsync();
            throw;
        }
    }

    private async Task StartAsync()
    {
        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException($"the {Kind} daemon tests need root (the daemon manages mounts and its unix socket); run them as root, as ./test.sh does in CI");
        }

        var start = new ProcessStartInfo(Kind.Daemon)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--group", "root", "--logfile", LogPath })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment[Kind.DirectoryVariable] = Directory;
        start.Environment["SSL_CERT_FILE"] = CertificateAuthoritiesPath;
        try
        {
            _process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + Kind.Daemon);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{Kind.Daemon} is not installed (Debian package {Kind.Package}; ./test.sh installs it): " + e.Message, e);
        }

        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        AppDomain.CurrentDomain.ProcessExit += KillOnExit;

        for (var attempt = 1; ; attempt++)
        {
            var ready = await RunAsync(Kind.AdminProgram, [.. Kind.AdminPrefix, "waitready", "--timeout", "30"], TimeSpan.FromSeconds(45));
            if (ready.ExitCode == 0)
            {
                break;
            }

            if (_process.HasExited || attempt == WaitReadyAttempts)
            {
                var reason = _process.HasExited ? $"{Kind.Daemon} exited with code {_process.ExitCode}" : $"waitready failed {attempt} times";
                throw new InvalidOperationException($"The {Kind} daemon did not start ({reason}): {ready.Stderr.Trim()}\n{LogTail()}");
            }
        }
    }

    /// <summary>
    /// Makes the daemon listen on HTTPS on a free loopback port (<c>core.https_address</c>); a no-op when it does already.
    /// Another process may take the port between picking and binding, so a refusal is retried on another port.
    /// </summary>
    public async Task<Uri> ListenHttpsAsync()
    {
        if (_https is not null)
        {
            return _https;
        }

        PeerResult? last = null;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var address = $"127.0.0.1:{FreePort()}";
            last = await ClientAsync("config", "set", "core.https_address", address);
            if (last.ExitCode == 0)
            {
                _https = new Uri($"https://{address}");
                return _https;
            }
        }

        throw new InvalidOperationException($"{Kind.Daemon} did not listen on a loopback port: {last!.Stderr}\n{LogTail()}");
    }

    /// <summary>Runs the daemon's client against it (its <c>local:</c> remote).</summary>
    public Task<PeerResult> ClientAsync(params string[] arguments) => _client.RunAsync(null, arguments, Directory);

    /// <summary>Runs the daemon's client against it and requires exit code 0; returns what it printed.</summary>
    public Task<string> ClientOkAsync(params string[] arguments) => _client.RunOkAsync(null, arguments, Directory);

    /// <summary>
    /// <c>image import</c> of a unified file (one path) or a split image (metadata then rootfs).
    /// </summary>
    /// <returns>The fingerprint the daemon computed.</returns>
    public async Task<string> ImportAsync(IReadOnlyList<string> files, bool isPublic, IReadOnlyList<string> aliases, IReadOnlyDictionary<string, string>? properties = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(aliases);
        var arguments = new List<string> { "image", "import" };
        arguments.AddRange(files);
        arguments.Add("local:");
        foreach (var alias in aliases)
        {
            arguments.Add("--alias");
            arguments.Add(alias);
        }

        if (isPublic)
        {
            arguments.Add("--public");
        }

        arguments.AddRange((properties ?? new Dictionary<string, string>()).Select(p => $"{p.Key}={p.Value}"));
        var output = await ClientOkAsync([.. arguments]);
        return ImportOutput.Fingerprint(output);
    }

    /// <summary>
    /// Gives the <c>imageactors serve</c> of <paramref name="dataDirectory"/> the server certificate and key the daemon
    /// trusts (<c>server.crt</c> and <c>server.key</c>, which serve uses as an operator's own); call before it starts.
    /// </summary>
    public void UseTrustedServeCertificate(string dataDirectory)
    {
        System.IO.Directory.CreateDirectory(dataDirectory);
        foreach (var file in new[] { ServerCertificate.CertificateFile, ServerCertificate.KeyFile })
        {
            File.Copy(Path.Combine(_tls.Path, file), Path.Combine(dataDirectory, file), overwrite: true);
        }
    }

    /// <summary>Trusts a client certificate (PEM file), as <c>lxc config trust add</c> / <c>incus config trust add-certificate</c> do.</summary>
    public Task TrustAsync(string certificatePath, string name) => ClientOkAsync([.. Kind.TrustAdd, "local:", certificatePath, "--name", name]);

    /// <summary>The daemon's images, from <c>GET /1.0/images?recursion=1</c>.</summary>
    public async Task<IReadOnlyList<PeerImage>> ImagesAsync()
    {
        var json = await ClientOkAsync("query", "/1.0/images?recursion=1");
        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateArray().Select(PeerImage.From).ToList();
    }

    /// <summary>The daemon's image with this full fingerprint, or null.</summary>
    public async Task<PeerImage?> FindImageAsync(string fingerprint) =>
        (await ImagesAsync()).SingleOrDefault(i => i.Fingerprint == fingerprint);

    /// <summary>The daemon's files of an image: <c>images/&lt;fp&gt;</c> and, for a split image, <c>images/&lt;fp&gt;.rootfs</c>.</summary>
    public IReadOnlyList<string> ImageFiles(string fingerprint)
    {
        var metadata = Path.Combine(Directory, "images", fingerprint);
        var rootfs = metadata + ".rootfs";
        return File.Exists(rootfs) ? [metadata, rootfs] : File.Exists(metadata) ? [metadata] : [];
    }

    /// <summary>
    /// Asserts that the daemon holds the image in the same files as the store under <paramref name="ourData"/> (the
    /// metadata or unified file, and the rootfs of a split image): the same names and the same bytes.
    /// </summary>
    public async Task AssertSameFilesAsync(string fingerprint, string ourData)
    {
        var theirs = ImageFiles(fingerprint);
        var ours = new[] { fingerprint, fingerprint + ".rootfs" }.Select(name => Path.Combine(ourData, "images", name)).Where(File.Exists).ToList();
        Assert.NotEmpty(theirs);
        Assert.Equal(ours.Select(Path.GetFileName), theirs.Select(Path.GetFileName));
        foreach (var (their, our) in theirs.Zip(ours))
        {
            Assert.Equal(await File.ReadAllBytesAsync(our), await File.ReadAllBytesAsync(their));
        }
    }

    /// <summary>Deletes the image if the daemon has it, so a test starts from a daemon without it.</summary>
    public async Task DeleteImageIfPresentAsync(string fingerprint)
    {
        if (await FindImageAsync(fingerprint) is not null)
        {
            await ClientOkAsync("image", "delete", "local:" + fingerprint);
        }
    }

    /// <summary>The last lines of the daemon's log and output, for failure messages.</summary>
    public string LogTail()
    {
        var log = File.Exists(LogPath) ? File.ReadAllLines(LogPath).TakeLast(30) : [];
        string output;
        lock (_output)
        {
            output = _output.ToString();
        }

        return $"--- {LogPath} (tail) ---\n{string.Join('\n', log)}\n--- daemon output ---\n{output}";
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= KillOnExit;
        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                // incus admin shutdown returns before the process has exited: wait for the process itself below.
                await RunAsync(Kind.AdminProgram, [.. Kind.AdminPrefix, "shutdown", "--timeout", "30"], TimeSpan.FromSeconds(45));
            }

            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(exited.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
            _process = null;
        }

        // A daemon that was killed leaves its tmpfs mounts (shmounts, devlxd, guestapi) behind; they must go before the folder.
        foreach (var mount in MountsUnder(Directory).OrderByDescending(m => m.Length))
        {
            await RunAsync("umount", ["-l", mount], TimeSpan.FromSeconds(30));
        }

        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }

        _client.Dispose();
        _tls.Dispose();
    }

    private void CreateServeCertificate()
    {
        using var certificate = ServerCertificate.Create([IPAddress.Loopback], "localhost");
        var pem = certificate.ExportCertificatePem();
        File.WriteAllText(Path.Combine(_tls.Path, ServerCertificate.CertificateFile), pem + "\n");
        File.WriteAllText(Path.Combine(_tls.Path, ServerCertificate.KeyFile), certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem() + "\n");
        const string system = "/etc/ssl/certs/ca-certificates.crt";
        var authorities = File.Exists(system) ? File.ReadAllText(system).TrimEnd() + "\n" : string.Empty;
        File.WriteAllText(CertificateAuthoritiesPath, authorities + pem + "\n");
    }

    private static string CreateDirectory(string prefix)
    {
        // Short, because the daemon's unix socket path must fit in 108 bytes.
        var directory = System.IO.Directory.CreateTempSubdirectory(prefix + "-").FullName;
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the daemon runs on Linux only");
        }

        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        return directory;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static IEnumerable<string> MountsUnder(string directory)
    {
        // /proc/self/mounts escapes spaces and the like as octal; our folder names have none.
        var prefix = directory.TrimEnd('/') + "/";
        return File.ReadLines("/proc/self/mounts")
            .Select(line => line.Split(' ')[1])
            .Where(point => point.StartsWith(prefix, StringComparison.Ordinal) || point == directory)
            .ToList();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private void KillOnExit(object? sender, EventArgs e)
    {
        try
        {
            _process?.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private async Task<PeerResult> RunAsync(string program, string[] arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment[Kind.DirectoryVariable] = Directory;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return new PeerResult(-1, await stdout, $"{program} {string.Join(' ', arguments)} did not finish within {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
        }

        return new PeerResult(process.ExitCode, await stdout, await stderr);
    }
}

/// <summary>An image as the daemon lists it.</summary>
/// <param name="Fingerprint">Full SHA-256 fingerprint.</param>
/// <param name="Type"><c>container</c> or <c>virtual-machine</c>.</param>
/// <param name="Public">Visible to untrusted clients.</param>
/// <param name="AutoUpdate">Refreshed from its source.</param>
/// <param name="Cached">Copied implicitly (not by <c>image copy</c>).</param>
/// <param name="Aliases">Alias names.</param>
/// <param name="Properties">Image properties.</param>
/// <param name="SourceServer">The server it was copied from (<c>update_source.server</c>), or null.</param>
/// <param name="SourceProtocol">The protocol it was copied with, or null.</param>
/// <param name="SourceAlias">The alias it was copied by, or null.</param>
public sealed record PeerImage(
    string Fingerprint,
    string Type,
    bool Public,
    bool AutoUpdate,
    bool Cached,
    IReadOnlyList<string> Aliases,
    IReadOnlyDictionary<string, string> Properties,
    string? SourceServer,
    string? SourceProtocol,
    string? SourceAlias)
{
    internal static PeerImage From(JsonElement image)
    {
        var source = image.TryGetProperty("update_source", out var s) && s.ValueKind == JsonValueKind.Object ? s : (JsonElement?)null;
        return new PeerImage(
            image.GetProperty("fingerprint").GetString()!,
            image.GetProperty("type").GetString()!,
            image.GetProperty("public").GetBoolean(),
            image.GetProperty("auto_update").GetBoolean(),
            image.GetProperty("cached").GetBoolean(),
            image.GetProperty("aliases").EnumerateArray().Select(a => a.GetProperty("name").GetString()!).ToList(),
            image.GetProperty("properties").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? string.Empty, StringComparer.Ordinal),
            source?.GetProperty("server").GetString(),
            source?.GetProperty("protocol").GetString(),
            source?.GetProperty("alias").GetString());
    }
}

/// <summary>The real LXD 5.0 daemon.</summary>
public sealed class LxdDaemon() : PeerDaemon(PeerKind.Lxd);

/// <summary>The real Incus 6.0 daemon.</summary>
public sealed class IncusDaemon() : PeerDaemon(PeerKind.Incus);

/// <summary>The tests that share the one LXD daemon of a test run; they run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class LxdDaemonCollection : ICollectionFixture<LxdDaemon>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "LXD daemon";
}

/// <summary>The tests that share the one Incus daemon of a test run; they run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class IncusDaemonCollection : ICollectionFixture<IncusDaemon>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Incus daemon";
}
