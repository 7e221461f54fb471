using System.Globalization;
using System.Net;

namespace ImageActors.Remotes;

/// <summary>A failure talking to a remote image server; the message names the URL or input at fault.</summary>
public class RemoteException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RemoteException(string message, Uri? url = null, Exception? inner = null)
        : base(message, inner) => Url = url;

    /// <summary>The URL that failed, when there is one.</summary>
    public Uri? Url { get; }

    /// <summary>
    /// Why a request failed, in words for the user: a refused TLS handshake means the certificate is not the pinned one
    /// (HttpClient only says "see inner exception").
    /// </summary>
    public static string Reason(HttpRequestException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is System.Security.Authentication.AuthenticationException)
            {
                return "the server's certificate is not the one pinned for it; if it was replaced on purpose, remove the remote and add it again";
            }
        }

        return e.Message;
    }
}

/// <summary>The server answered with an error: an Incus error envelope, or a non-JSON HTTP failure.</summary>
public sealed class RemoteErrorResponseException(Uri url, int statusCode, string error)
    : RemoteException(error, url)
{
    /// <summary>The HTTP status (the envelope's <c>error_code</c>).</summary>
    public int StatusCode { get; } = statusCode;

    /// <summary>The server's error text, e.g. <c>Image "abc" not found</c>.</summary>
    public string Error { get; } = error;
}

/// <summary>The remote has no image or alias by that name.</summary>
public sealed class ImageNotFoundException(string input, Uri server, Exception? inner = null)
    : RemoteException($"Image \"{input}\" not found on {server}", server, inner)
{
    /// <summary>The alias or fingerprint that was asked for.</summary>
    public string Input { get; } = input;
}

/// <summary>A downloaded file does not hash to what the remote promised; nothing was kept.</summary>
public sealed class HashMismatchException(Uri url, string expected, string actual)
    : RemoteException($"Hash mismatch for {url}: {actual} != {expected}", url)
{
    /// <summary>The SHA-256 (or fingerprint prefix) the remote announced.</summary>
    public string Expected { get; } = expected;

    /// <summary>The SHA-256 of the bytes received.</summary>
    public string Actual { get; } = actual;
}

/// <summary>A downloaded file is not the size the remote announced; nothing was kept.</summary>
public sealed class SizeMismatchException(Uri url, long expected, long actual)
    : RemoteException($"Size mismatch for {url}: got {actual} bytes, expected {expected}", url)
{
    /// <summary>The announced size.</summary>
    public long Expected { get; } = expected;

    /// <summary>The bytes received.</summary>
    public long Actual { get; } = actual;
}

/// <summary>The files of a split image do not hash together to the image's fingerprint; nothing was kept.</summary>
public sealed class FingerprintMismatchException(Uri url, string expected, string actual)
    : RemoteException($"Image fingerprint doesn't match. Got {actual} expected {expected} ({url})", url)
{
    /// <summary>The fingerprint of the image.</summary>
    public string Expected { get; } = expected;

    /// <summary>SHA-256 over metadata followed by rootfs.</summary>
    public string Actual { get; } = actual;
}

/// <summary>A URL image server did not send a header the protocol requires (<c>Incus-Image-Hash</c>, <c>Incus-Image-URL</c>).</summary>
public sealed class MissingHeaderException(Uri url, string header)
    : RemoteException($"Missing {header} header ({url})", url)
{
    /// <summary>The header that was missing.</summary>
    public string Header { get; } = header;
}

/// <summary>The remote answered with something the protocol does not allow (bad JSON, bad multipart, ...).</summary>
public sealed class RemoteProtocolException(string message, Uri url, Exception? inner = null)
    : RemoteException(message, url, inner);

/// <summary>The server answered with a status it may recover from (5xx, 408, 429); the request is worth repeating.</summary>
public sealed class TransientResponseException(Uri url, HttpStatusCode status, string? reason, TimeSpan? retryAfter)
    : HttpRequestException(MessageOf(url, status, reason, retryAfter), null, status)
{
    /// <summary>The URL that answered.</summary>
    public Uri Url { get; } = url;

    /// <summary>The wait the server asked for with <c>Retry-After</c>, if it did.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;

    private static string MessageOf(Uri url, HttpStatusCode status, string? reason, TimeSpan? retryAfter) =>
        retryAfter is { } wait
            ? string.Create(CultureInfo.InvariantCulture, $"{url} answered {(int)status} {reason} (Retry-After: {wait.TotalSeconds:0.#} s).")
            : string.Create(CultureInfo.InvariantCulture, $"{url} answered {(int)status} {reason}.");
}
