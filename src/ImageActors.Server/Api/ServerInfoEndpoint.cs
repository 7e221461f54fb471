using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using ImageActors.Remotes;
using ImageActors.Remotes.Incus;
using ImageActors.Server.Hosting;

namespace ImageActors.Server.Api;

/// <summary><c>GET /1.0</c> (spec §2.2, §10).</summary>
public static class ServerInfoEndpoint
{
    /// <summary>
    /// The API extensions advertised, to everyone (as LXD and Incus 6.0 do): only those whose behaviour this server
    /// implements, among those the image commands of <c>incus</c> and <c>lxc</c> look for (a client refuses a call
    /// whose extension is missing, or falls back to older requests). Each names what it obliges us to:
    /// </summary>
    public static readonly IReadOnlyList<string> Extensions =
    [
        // GET /1.0/images?filter=… (ImageFilter); without it image list filters on the client.
        "api_filtering",

        // aliases in the body of POST /1.0/images (copies and URL imports); without it the client creates them itself afterwards.
        "image_create_aliases",

        // POST /1.0/images/<fp>/refresh with "refreshed" in the operation's metadata (incus/lxc image refresh REMOTE:…).
        "image_force_refresh",

        // the type of image objects and aliases, and source.image_type on copies.
        "image_types",

        // expires_at settable by PUT.
        "images_expiry",

        // profiles on image objects, settable by PUT and by upload headers.
        "image_profiles",

        // profiles in the body of POST /1.0/images (image copy --profile).
        "image_copy_profile",

        // POST /1.0/images/<fp>/export to push an image to another server (image copy --mode push|relay from us).
        "images_push_relay",
    ];

    /// <summary>Maps the route.</summary>
    public static void Map(IEndpointRouteBuilder routes) => routes.MapGet("/1.0", Get);

    private static IResult Get(HttpContext context, ListenSettings listen)
    {
        var caller = context.Caller();
        var info = new ServerInfo
        {
            Config = new Dictionary<string, string>(),
            ApiExtensions = Extensions,
            ApiStatus = "stable",
            ApiVersion = "1.0",
            Auth = caller.IsTrusted ? "trusted" : "untrusted",

            // `remote add` (incus and lxc alike) records a remote that answers public: true as a public image server
            // and skips the trust step; one answering false it records as a private server, which push, relay and
            // writes need. So untrusted callers see an image server, and a client whose certificate we trust sees a
            // private server (a daemon answers false to everyone, but then untrusted clients would be asked for a token).
            Public = !caller.IsTrusted,
            AuthMethods = ["tls"],
        };
        if (caller.IsTrusted)
        {
            var certificate = context.RequestServices.GetService<X509Certificate2>();
            info = info with
            {
                AuthUserName = caller.Name,
                AuthUserMethod = caller.Method,
                Environment = new ServerEnvironment
                {
                    Addresses = [.. listen.Https.Select(e => e.ToString())],
                    // Incus' names (x86_64, aarch64), the host's own first and then those it also runs (i686 on x86_64).
                    Architectures = [Architectures.Native, .. Architectures.Personalities(Architectures.Native)],
                    Certificate = certificate?.ExportCertificatePem() ?? string.Empty,
                    CertificateFingerprint = certificate is null ? string.Empty : ServerCertificate.FingerprintOf(certificate),
                    Kernel = "Linux",
                    KernelArchitecture = Architectures.Native,
                    KernelVersion = Environment.OSVersion.Version.ToString(),
                    OsName = RuntimeInformation.OSDescription,
                    Project = context.Request.Query["project"].ToString() is { Length: > 0 } p ? p : "default",
                    Server = "imageactors",
                    ServerName = Environment.MachineName,
                    ServerPid = Environment.ProcessId,
                    ServerVersion = typeof(ServerInfoEndpoint).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
                },
            };
        }

        return ApiResults.Sync(info, IncusJsonContext.Default.IncusResponseServerInfo);
    }
}
