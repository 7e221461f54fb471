using Spectre.Console;

namespace ImageActors.Cli.Commands;

/// <summary>
/// A progress bar for long transfers, shown only when stdout is the process' own terminal; when it is
/// redirected (scripts, tests) nothing extra is written, so the output stays one stable line per result.
/// </summary>
internal static class TransferProgress
{
    /// <summary>Whether <paramref name="output"/> is an interactive terminal.</summary>
    public static bool IsInteractive(TextWriter output) => ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;

    /// <summary>
    /// Runs <paramref name="work"/>, which reports bytes moved through the callback it is given. The bar is filled only
    /// when the work finished and <paramref name="succeeded"/> (when given) says its result is a success; otherwise it
    /// stays where it got to and says it failed.
    /// </summary>
    public static async Task<T> RunAsync<T>(TextWriter output, string description, long? totalBytes, Func<Action<long>, Task<T>> work, Func<T, bool>? succeeded = null)
    {
        if (!IsInteractive(output))
        {
            return await work(static _ => { });
        }

        var result = default(T)!;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(description, maxValue: totalBytes is > 0 ? totalBytes.Value : 1);
                task.IsIndeterminate = totalBytes is not > 0;
                try
                {
                    // A bar at its maximum is drawn as finished (green, 100%): until the work says it succeeded, the
                    // bar stops one byte short, however many bytes moved (all of them may move and still be refused).
                    result = await work(bytes => task.Value = Math.Min(task.Value + bytes, task.MaxValue - 1));
                }
                catch
                {
                    // The display stops on an exception without drawing again: draw the failed bar first.
                    Fail(task);
                    context.Refresh();
                    throw;
                }

                if (succeeded is null || succeeded(result))
                {
                    task.Value = task.MaxValue;
                }
                else
                {
                    Fail(task);
                }

                task.StopTask();
            });
        return result;
    }

    /// <summary>Marks a bar as failed: it keeps its value, its description says so in red, and it is stopped.</summary>
    public static void Fail(ProgressTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        task.Description = "[red]Failed[/]";
        task.IsIndeterminate = false;
        task.StopTask();
    }
}

/// <summary>A read-only stream (seekable if its inner one is, so HTTP content keeps its length) that reports each read to a callback (for progress of uploads and downloads).</summary>
internal sealed class ProgressStream(Stream inner, Action<long> progress) : Stream
{
    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => inner.CanSeek;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <inheritdoc />
    public override long Length => inner.Length;

    /// <inheritdoc />
    public override long Position { get => inner.Position; set => inner.Position = value; }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Report(inner.Read(buffer, offset, count));

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Report(await inner.ReadAsync(buffer, cancellationToken));

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Report(int read)
    {
        if (read > 0)
        {
            progress(read);
        }

        return read;
    }
}
