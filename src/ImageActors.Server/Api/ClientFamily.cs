using Microsoft.Net.Http.Headers;

namespace ImageActors.Server.Api;

/// <summary>
/// Whose client sent a request: Incus' (the <c>incus</c> command, the Incus daemon) or LXD's (<c>lxc</c>, the LXD
/// daemon). Where the two servers differ on the wire (the protocol name in <c>update_source</c>, the URL-import
/// headers), each is answered as its own server would answer it.
/// </summary>
public enum ClientFamily
{
    /// <summary>Incus, and every client that is not recognisably LXD's.</summary>
    Incus,

    /// <summary>LXD.</summary>
    Lxd,
}

/// <summary>Recognises the <see cref="ClientFamily"/> of a request.</summary>
public static class ClientFamilies
{
    /// <summary>
    /// The family of the client that sent <paramref name="request"/>. Both projects' clients and daemons send the
    /// same kind of <c>User-Agent</c>: <c>Incus 6.0.4 (Linux; x86_64; …)</c> or <c>LXD 5.0.2 (Linux; x86_64; …)</c>.
    /// A request without such a product name is LXD's when it carries only the <c>LXD-Server-*</c> headers of a URL
    /// import, and otherwise Incus'.
    /// </summary>
    public static ClientFamily Of(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var agent = request.Headers[HeaderNames.UserAgent].ToString().AsSpan().TrimStart();
        var product = agent[..(agent.IndexOfAny(' ', '/') is var end and >= 0 ? end : agent.Length)];
        if (product.Equals("LXD", StringComparison.OrdinalIgnoreCase))
        {
            return ClientFamily.Lxd;
        }

        if (product.Equals("Incus", StringComparison.OrdinalIgnoreCase))
        {
            return ClientFamily.Incus;
        }

        var headers = request.Headers;
        var lxd = headers.ContainsKey("LXD-Server-Version") || headers.ContainsKey("LXD-Server-Architectures");
        var incus = headers.ContainsKey("Incus-Server-Version") || headers.ContainsKey("Incus-Server-Architectures");
        return lxd && !incus ? ClientFamily.Lxd : ClientFamily.Incus;
    }

    /// <summary>The name the family's own server gives the REST protocol of an Incus or LXD image server.</summary>
    public static string RestProtocol(this ClientFamily family) => family == ClientFamily.Lxd ? "lxd" : "incus";

    /// <summary>The prefix of the URL-import headers the family's clients expect (<c>Incus-Image-Hash</c>, <c>LXD-Image-Hash</c>).</summary>
    public static string HeaderPrefix(this ClientFamily family) => family == ClientFamily.Lxd ? "LXD" : "Incus";
}
