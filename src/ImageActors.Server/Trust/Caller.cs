namespace ImageActors.Server.Trust;

/// <summary>How a request's caller was identified.</summary>
public enum CallerAuthentication
{
    /// <summary>Nothing identified the caller: public images only.</summary>
    None,

    /// <summary>Came in over the local unix socket.</summary>
    UnixSocket,

    /// <summary>Presented a client certificate found in the trust store.</summary>
    Certificate,

    /// <summary>Presented a configured bearer token.</summary>
    Token,
}

/// <summary>Who is calling, as decided once per request.</summary>
/// <param name="Authentication">How the caller was identified.</param>
/// <param name="Name">A name for logs and lifecycle events (certificate fingerprint, "unix", "token").</param>
public sealed record Caller(CallerAuthentication Authentication, string Name)
{
    /// <summary>An unidentified caller.</summary>
    public static readonly Caller Untrusted = new(CallerAuthentication.None, string.Empty);

    /// <summary>Whether the caller may write and see private images.</summary>
    public bool IsTrusted => Authentication != CallerAuthentication.None;

    /// <summary>The <c>auth_user_method</c> Incus reports for this caller.</summary>
    public string Method => Authentication switch
    {
        CallerAuthentication.UnixSocket => "unix",
        CallerAuthentication.Certificate => "tls",
        CallerAuthentication.Token => "bearer",
        _ => string.Empty,
    };
}
