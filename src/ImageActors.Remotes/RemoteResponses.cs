using System.Net;
using System.Text.Json;
using ImageActors.Remotes.Incus;

namespace ImageActors.Remotes;

/// <summary>Turns failed HTTP replies into typed errors as the Incus client does.</summary>
internal static class RemoteResponses
{
    private const int MaxErrorBody = 1 << 20;

    /// <summary>
    /// An error envelope becomes an error carrying its <c>error_code</c> and text; anything else
    /// becomes "Failed to fetch &lt;url&gt;: &lt;status&gt;".
    /// </summary>
    public static async Task<RemoteErrorResponseException> ToErrorAsync(HttpResponseMessage response, Uri url, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        try
        {
            var body = await ReadLimitedAsync(response.Content, MaxErrorBody, cancellationToken).ConfigureAwait(false);
            var envelope = JsonSerializer.Deserialize(body, IncusJsonContext.Default.IncusResponseJsonElement);
            if (envelope is { Type: ResponseTypes.Error })
            {
                return new RemoteErrorResponseException(url, envelope.ErrorCode != 0 ? envelope.ErrorCode : status, envelope.Error);
            }
        }
        catch (JsonException)
        {
        }
        catch (IOException)
        {
        }

        return new RemoteErrorResponseException(url, status, $"Failed to fetch {url}: {status} {response.ReasonPhrase}");
    }

    /// <summary>The error for a transient answer, with the wait the server asked for in <c>Retry-After</c>.</summary>
    public static TransientResponseException Transient(HttpResponseMessage response, Uri url, TimeProvider time)
    {
        TimeSpan? retryAfter = response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - time.GetUtcNow() is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
            _ => null,
        };
        return new TransientResponseException(url, response.StatusCode, response.ReasonPhrase, retryAfter);
    }

    /// <summary>Whether a status is worth retrying (the server may recover).</summary>
    public static bool IsTransient(HttpStatusCode status) =>
        (int)status >= 500 || status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;

    public static async Task<byte[]> ReadLimitedAsync(HttpContent content, int limit, CancellationToken cancellationToken)
    {
        using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var memory = new MemoryStream();
        var buffer = new byte[81920];
        int n;
        while ((n = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (memory.Length + n > limit)
            {
                throw new IOException($"Reply larger than {limit} bytes.");
            }

            memory.Write(buffer, 0, n);
        }

        return memory.ToArray();
    }
}
