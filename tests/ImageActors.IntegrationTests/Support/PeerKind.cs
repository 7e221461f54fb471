namespace ImageActors.IntegrationTests.Support;

/// <summary>
/// One of the two peers we are checked against: LXD 5.0 (Debian's <c>lxd</c> and <c>lxd-client</c>) or Incus 6.0 LTS
/// (Debian's <c>incus</c> and <c>incus-client</c>). The same tests run against both; this says how each is driven.
/// </summary>
/// <param name="Name">LXD or Incus, for messages.</param>
/// <param name="Client">The command-line client: <c>lxc</c> or <c>incus</c>.</param>
/// <param name="ConfigVariable">The variable naming the client's configuration folder.</param>
/// <param name="DirectoryVariable">The variable naming the daemon's folder (and so its unix socket).</param>
/// <param name="Daemon">The daemon's program.</param>
/// <param name="Package">The Debian package holding the daemon, for messages.</param>
/// <param name="AdminPrefix">The arguments before <c>waitready</c> and <c>shutdown</c>, after <see cref="AdminProgram"/>.</param>
/// <param name="AdminProgram">The program that runs <c>waitready</c> and <c>shutdown</c>.</param>
/// <param name="TrustAdd">The client's subcommand that trusts a certificate file.</param>
/// <param name="Protocol">The protocol name of the daemon's own REST API, in our remotes and in its <c>update_source</c>.</param>
/// <param name="HeaderPrefix">The prefix of the URL-import headers the daemon sends and reads (<c>LXD-Image-Hash</c>, <c>Incus-Image-Hash</c>).</param>
public sealed record PeerKind(
    string Name,
    string Client,
    string ConfigVariable,
    string DirectoryVariable,
    string Daemon,
    string Package,
    string AdminProgram,
    IReadOnlyList<string> AdminPrefix,
    IReadOnlyList<string> TrustAdd,
    string Protocol,
    string HeaderPrefix)
{
    /// <summary>LXD 5.0: <c>lxd</c> is the daemon and runs <c>lxd waitready</c>; <c>lxc</c> is the client.</summary>
    public static PeerKind Lxd { get; } = new("LXD", "lxc", "LXD_CONF", "LXD_DIR", "lxd", "lxd", "lxd", [], ["config", "trust", "add"], "lxd", "LXD");

    /// <summary>Incus 6.0: <c>incusd</c> is the daemon; <c>incus admin waitready</c> and <c>incus admin shutdown</c> drive it.</summary>
    public static PeerKind Incus { get; } = new(
        "Incus", "incus", "INCUS_CONF", "INCUS_DIR", "/usr/libexec/incus/incusd", "incus", "incus", ["admin"], ["config", "trust", "add-certificate"], "incus", "Incus");

    /// <inheritdoc />
    public override string ToString() => Name;
}
