using Microsoft.AspNetCore.Http;

namespace ImageActors.TestServers;

/// <summary>
/// Serves bytes with single-range support (<c>bytes=N-</c>), optionally cutting the connection
/// after some bytes, ignoring Range, or pacing the chunks, to play a flaky or slow server.
/// </summary>
public static class RangeFile
{
    /// <param name="context">The request.</param>
    /// <param name="data">The file.</param>
    /// <param name="cutAfter">Drops the connection after this many bytes.</param>
    /// <param name="honourRange">Answers Range requests with 206.</param>
    /// <param name="beforeCut">Awaited before the cut.</param>
    /// <param name="chunkSize">Bytes written at a time.</param>
    /// <param name="beforeChunk">Awaited before each chunk (with its offset), which is flushed at once: a slow or stalling server.</param>
    public static async Task ServeAsync(HttpContext context, byte[] data, long? cutAfter = null, bool honourRange = true, Func<Task>? beforeCut = null, int chunkSize = 64 * 1024, Func<long, CancellationToken, Task>? beforeChunk = null)
    {
        long from = 0;
        var range = context.Request.Headers.Range.ToString();
        if (honourRange && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            from = long.Parse(range["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
            context.Response.StatusCode = StatusCodes.Status206PartialContent;
            context.Response.Headers.ContentRange = $"bytes {from}-{data.Length - 1}/{data.Length}";
        }

        context.Response.Headers.AcceptRanges = "bytes";
        context.Response.Headers.ETag = "\"v1\"";
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = data.Length - from;
        var end = cutAfter is { } cut ? Math.Min(data.Length, from + cut) : data.Length;
        for (var offset = from; offset < end; offset += chunkSize)
        {
            if (beforeChunk is not null)
            {
                await beforeChunk(offset, context.RequestAborted);
            }

            await context.Response.Body.WriteAsync(data.AsMemory((int)offset, (int)Math.Min(chunkSize, end - offset)));
            if (beforeChunk is not null)
            {
                await context.Response.Body.FlushAsync();
            }
        }

        if (end < data.Length)
        {
            await context.Response.Body.FlushAsync();
            if (beforeCut is not null)
            {
                await beforeCut();
            }

            context.Abort();
        }
    }
}
