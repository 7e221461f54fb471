using System.Text.Json.Serialization;

namespace ImageActors.Remotes.Incus;

/// <summary>
/// <c>GET /1.0</c>. Untrusted callers get the first seven keys; <see cref="AuthUserName"/>,
/// <see cref="AuthUserMethod"/> and <see cref="Environment"/> are only written for trusted ones.
/// </summary>
public sealed record ServerInfo
{
    /// <summary>Server configuration; only <c>user.ui.*</c> keys for untrusted callers.</summary>
    public IReadOnlyDictionary<string, string> Config { get; init; } = new Dictionary<string, string>();

    /// <summary>API extensions; <c>null</c> when withheld before authentication (Incus since 2026-04).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public IReadOnlyList<string>? ApiExtensions { get; init; }

    /// <summary>Always <c>stable</c>.</summary>
    public string ApiStatus { get; init; } = "stable";

    /// <summary>Always <c>1.0</c>.</summary>
    public string ApiVersion { get; init; } = "1.0";

    /// <summary><c>trusted</c> or <c>untrusted</c>.</summary>
    public string Auth { get; init; } = "untrusted";

    /// <summary>Whether this is a public image server (<c>incus remote add</c> then skips the trust step).</summary>
    public bool Public { get; init; }

    /// <summary>Accepted authentication methods: <c>tls</c>, <c>oidc</c>.</summary>
    public IReadOnlyList<string> AuthMethods { get; init; } = ["tls"];

    /// <summary>Name of the authenticated user (trusted only).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? AuthUserName { get; init; }

    /// <summary>Method that authenticated the user (trusted only).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? AuthUserMethod { get; init; }

    /// <summary>Details of the host (trusted only).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ServerEnvironment? Environment { get; init; }
}

/// <summary>The <c>environment</c> object of <c>GET /1.0</c> for trusted callers.</summary>
public sealed record ServerEnvironment
{
    /// <summary>Listen addresses (<c>host:port</c>); clients derive extra source URLs from them.</summary>
    public IReadOnlyList<string> Addresses { get; init; } = [];

    /// <summary>Canonical architecture names the server runs.</summary>
    public IReadOnlyList<string> Architectures { get; init; } = [];

    /// <summary>The server certificate (PEM).</summary>
    public string Certificate { get; init; } = "";

    /// <summary>SHA-256 of the server certificate (hex).</summary>
    public string CertificateFingerprint { get; init; } = "";

    /// <summary>Instance drivers, <c>|</c>-separated.</summary>
    public string Driver { get; init; } = "";

    /// <summary>Driver versions, <c>|</c>-separated.</summary>
    public string DriverVersion { get; init; } = "";

    /// <summary>Kernel name.</summary>
    public string Kernel { get; init; } = "";

    /// <summary>Kernel architecture.</summary>
    public string KernelArchitecture { get; init; } = "";

    /// <summary>Kernel version.</summary>
    public string KernelVersion { get; init; } = "";

    /// <summary>Operating system name.</summary>
    public string OsName { get; init; } = "";

    /// <summary>Operating system version.</summary>
    public string OsVersion { get; init; } = "";

    /// <summary>The project of the request.</summary>
    public string Project { get; init; } = "default";

    /// <summary>Server software name (<c>incus</c>, <c>lxd</c>, ...).</summary>
    public string Server { get; init; } = "";

    /// <summary>Whether the server is part of a cluster.</summary>
    public bool ServerClustered { get; init; }

    /// <summary>The server's name (cluster member name or host name).</summary>
    public string ServerName { get; init; } = "";

    /// <summary>Process id of the server.</summary>
    public int ServerPid { get; init; }

    /// <summary>Server software version.</summary>
    public string ServerVersion { get; init; } = "";

    /// <summary>Storage drivers, <c>|</c>-separated.</summary>
    public string Storage { get; init; } = "";

    /// <summary>Storage driver versions, <c>|</c>-separated.</summary>
    public string StorageVersion { get; init; } = "";
}
