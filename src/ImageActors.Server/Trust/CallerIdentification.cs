using System.Security.Cryptography;
using System.Text;
using ImageActors.Server.Hosting;
using Microsoft.AspNetCore.Connections.Features;

namespace ImageActors.Server.Trust;

/// <summary>
/// Decides once per request who the caller is: the unix socket is trusted, a client certificate in
/// the trust store is trusted, a configured bearer token is trusted; anyone else is untrusted and
/// sees public images only.
/// </summary>
public sealed class CallerIdentification
{
    /// <summary>Connection item set by the unix socket listener.</summary>
    internal const string UnixSocketItem = "imageactors.unix-socket";

    private readonly TrustStore _trust;
    private readonly byte[][] _tokenHashes;

    /// <summary>Creates the identification over a trust store and the configured tokens.</summary>
    public CallerIdentification(TrustStore trust, IEnumerable<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(trust);
        ArgumentNullException.ThrowIfNull(tokens);
        _trust = trust;
        _tokenHashes = [.. tokens.Where(t => !string.IsNullOrEmpty(t)).Select(t => SHA256.HashData(Encoding.UTF8.GetBytes(t)))];
    }

    /// <summary>The caller of the current request (identified at most once per request).</summary>
    public Caller Identify(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Items.TryGetValue(typeof(Caller), out var known) && known is Caller cached)
        {
            return cached;
        }

        var caller = Decide(context);
        context.Items[typeof(Caller)] = caller;
        return caller;
    }

    private Caller Decide(HttpContext context)
    {
        var items = context.Features.Get<IConnectionItemsFeature>()?.Items;
        if (items is not null && items.ContainsKey(UnixSocketItem))
        {
            return new Caller(CallerAuthentication.UnixSocket, "unix");
        }

        var certificate = context.Connection.ClientCertificate;
        if (certificate is not null)
        {
            var fingerprint = ServerCertificate.FingerprintOf(certificate);
            if (_trust.IsTrusted(fingerprint))
            {
                return new Caller(CallerAuthentication.Certificate, fingerprint);
            }
        }

        var authorization = context.Request.Headers.Authorization.ToString();
        if (_tokenHashes.Length > 0 && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var presented = SHA256.HashData(Encoding.UTF8.GetBytes(authorization[7..].Trim()));
            foreach (var hash in _tokenHashes)
            {
                if (CryptographicOperations.FixedTimeEquals(presented, hash))
                {
                    return new Caller(CallerAuthentication.Token, "token");
                }
            }
        }

        return Caller.Untrusted;
    }
}
