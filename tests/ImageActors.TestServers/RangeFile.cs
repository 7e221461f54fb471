using Microsoft.AspNetCore.Http;

namespace ImageActors.TestServers;

/// <summary>
/// Serves bytes with single-range support (<c>bytes=N-</c>), optionally cutting the connection
/// after some bytes or ignoring Range, to play a flaky server.
/// </summary>
public static class RangeFile
{
    public static async Task ServeAsync(HttpContext context, byte[] data, long? cutAfter = null, bool honourRange = true, Func<Task>? beforeCut = null)
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
        const int chunk = 64 * 1024;
        for (var offset = from; offset < end; offset += chunk)
        {
            await context.Response.Body.WriteAsync(data.AsMemory((int)offset, (int)Math.Min(chunk, end - offset)));
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
