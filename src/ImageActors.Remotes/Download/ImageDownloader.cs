using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.ExceptionServices;
using ImageActors.Streaming.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImageActors.Remotes.Download;

/// <summary>
/// Streams remote files to temp files while hashing them: every byte is read once, the size and
/// SHA-256 are verified, an interrupted transfer resumes with HTTP <c>Range</c> from the last byte
/// on disk (Incus restarts from zero), failures are retried with exponential backoff, and at most
/// <see cref="DownloadOptions.MaxParallelDownloads"/> downloads run at once. A file that fails or is
/// cancelled is removed; a verified file is handed to the caller, who commits it.
/// </summary>
public sealed partial class ImageDownloader : IDisposable
{
    private readonly DownloadOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots;

    /// <summary>Creates a downloader.</summary>
    public ImageDownloader(DownloadOptions? options = null, TimeProvider? time = null, ILogger<ImageDownloader>? logger = null)
    {
        _options = options ?? new DownloadOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxParallelDownloads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.ChunkSize, 4096);
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _slots = new SemaphoreSlim(_options.MaxParallelDownloads, _options.MaxParallelDownloads);
    }

    /// <summary>The options in force.</summary>
    public DownloadOptions Options => _options;

    /// <summary>Downloads one file into <see cref="DownloadRequest.TempDirectory"/> and verifies it.</summary>
    /// <exception cref="HashMismatchException">The bytes do not hash to <see cref="DownloadRequest.ExpectedSha256"/>.</exception>
    /// <exception cref="SizeMismatchException">The file is not <see cref="DownloadRequest.ExpectedSize"/> bytes.</exception>
    /// <exception cref="RemoteErrorResponseException">The server refused the request.</exception>
    /// <exception cref="RemoteException">Every attempt failed.</exception>
    public async Task<DownloadedFile> DownloadAsync(DownloadRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Sources.Count == 0)
        {
            throw new ArgumentException("A download needs at least one source URL.", nameof(request));
        }

        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await DownloadCoreAsync(request, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>Downloads without taking a slot (the caller already holds one).</summary>
    internal Task<DownloadedFile> DownloadInSlotAsync(DownloadRequest request, CancellationToken cancellationToken) =>
        DownloadCoreAsync(request, cancellationToken);

    /// <summary>Runs <paramref name="work"/> in one of the download slots (for transfers that are not a single file).</summary>
    public async Task<T> RunInSlotAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await work(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>The wait before retry number <paramref name="failures"/>: min(max, initial·2ⁿ⁻¹)·(1 + rand·jitter).</summary>
    public TimeSpan Backoff(int failures)
    {
        var baseMs = Math.Min(_options.MaxBackoff.TotalMilliseconds, _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Max(0, failures - 1)));
        return TimeSpan.FromMilliseconds(baseMs * (1 + (Random.Shared.NextDouble() * _options.BackoffJitter)));
    }

    /// <summary>
    /// The wait before retry number <paramref name="failures"/> after <paramref name="error"/>: the backoff, or the
    /// server's <c>Retry-After</c> when that is longer, cut to <see cref="DownloadOptions.MaxRetryWait"/>.
    /// </summary>
    public TimeSpan RetryDelay(int failures, Exception error, DownloadSettings? settings = null)
    {
        var delay = Backoff(failures);
        if (error is TransientResponseException { RetryAfter: { } asked })
        {
            var longest = settings?.MaxRetryWait ?? _options.MaxRetryWait;
            delay = asked > longest ? longest : asked > delay ? asked : delay;
        }

        return delay;
    }

    /// <summary>
    /// Runs a small request (an index, a HEAD) again while it fails in a way the server may recover from: no connection,
    /// no answer in time, or a transient status (<see cref="TransientResponseException"/>, whose <c>Retry-After</c> is
    /// honoured). Gives up after <see cref="DownloadOptions.MaxAttempts"/> attempts, or when
    /// <see cref="DownloadOptions.LookupTimeout"/> has passed, whichever comes first.
    /// </summary>
    /// <exception cref="RemoteException">Every attempt failed, or the lookup timeout passed; the message names the URL, the attempts and the last answer.</exception>
    public async Task<T> RetryAsync<T>(Uri url, Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(attempt);
        var limit = _options.LookupTimeout;
        using var timed = limit > TimeSpan.Zero ? new CancellationTokenSource(limit, _time) : new CancellationTokenSource();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timed.Token);
        Exception? previous = null;
        for (var failures = 1; ; failures++)
        {
            try
            {
                return await attempt(deadline.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (timed.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                var before = previous is null ? string.Empty : $"; the attempt before: {previous.Message.TrimEnd('.')}";
                var message = string.Create(CultureInfo.InvariantCulture, $"{url} did not answer within {limit.TotalSeconds:0.###} s (images.remote_lookup_timeout), {failures} {(failures == 1 ? "attempt" : "attempts")}{before}.");
                LogRequestGaveUp(_logger, url, failures, message);
                throw new RemoteException(message, url, e);
            }
            catch (Exception e) when (IsTransient(e, deadline.Token) && !IsCertificateRefusal(e))
            {
                previous = e;
                if (failures >= _options.MaxAttempts)
                {
                    LogRequestGaveUp(_logger, url, failures, e.Message);
                    throw new RemoteException($"{url} failed after {failures} attempts: {e.Message}", url, e);
                }

                var delay = RetryDelay(failures, e);
                LogRequestRetry(_logger, url, e.Message, failures + 1, _options.MaxAttempts, delay.TotalMilliseconds);
                if (_options.OnRetry is { } onRetry)
                {
                    await onRetry(new DownloadRetry(url, failures, 0, delay, e)).ConfigureAwait(false);
                }

                try
                {
                    await Task.Delay(delay, _time, deadline.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (timed.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    // The wait the server asked for runs past the lookup timeout: the attempt that failed is the last one.
                    var message = string.Create(CultureInfo.InvariantCulture, $"{url} did not answer within {limit.TotalSeconds:0.###} s (images.remote_lookup_timeout), {failures} {(failures == 1 ? "attempt" : "attempts")}: {e.Message.TrimEnd('.')}.");
                    LogRequestGaveUp(_logger, url, failures, message);
                    throw new RemoteException(message, url, e);
                }
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _slots.Dispose();

    private async Task<DownloadedFile> DownloadCoreAsync(DownloadRequest request, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(request.TempDirectory);
        var label = request.Label.Length == 0 ? "download" : request.Label.Replace('/', '_').Replace('.', '_');
        var path = Path.Combine(request.TempDirectory, $"{label}-{Guid.NewGuid():N}.part");
        var partials = PartialDownloads.For(request, _options.PartialDownloadTtl, _time);
        PartialFile? resumed = null;
        HashingFileWriter writer;
        try
        {
            partials?.Sweep();
            resumed = partials?.TryClaim(path);
            writer = resumed is null
                ? new HashingFileWriter(path, _options.ChunkSize, request.ExpectedSize, request.CombinedHashPrefixFile, keepFileHash: true)
                : HashingFileWriter.Resume(path, _options.ChunkSize, resumed.Length, request.CombinedHashPrefixFile, keepFileHash: true);
        }
        catch (IOException e)
        {
            // The expected size is reserved up front: a disk without room for it fails here, before any request.
            TryDelete(path);
            throw LocalFailure(request, e);
        }

        var state = new TransferState(request, writer, _time.GetTimestamp());
        if (resumed is not null)
        {
            // The kept bytes count only if the source still has the same file: If-Range with its validators.
            LogPartialResumed(_logger, request.Sources[0], resumed.Length, request.ExpectedSha256!);
            state.ETag = resumed.ETag;
            state.LastModified = resumed.LastModified;
            state.Total = request.ExpectedSize ?? resumed.Total;
            state.ResumedTotal = resumed.Total;
            request.FirstResponse?.Dispose();
            state.FirstResponseUsed = true;
        }

        var ok = false;
        var keep = true;
        try
        {
            var failures = 0;
            var sourceIndex = 0;
            while (true)
            {
                var url = request.Sources[sourceIndex];
                var before = writer.Length;
                try
                {
                    state.Requests++;
                    state.RequestsTo[url] = state.RequestsTo.GetValueOrDefault(url) + 1;
                    await FetchOnceAsync(state, url, cancellationToken).ConfigureAwait(false);
                    state.Url = url;
                    break;
                }
                catch (RemoteErrorResponseException e) when (state.Received == 0 && sourceIndex + 1 < request.Sources.Count)
                {
                    // As Incus does for SimpleStreams files: any failure of the plain-http URL moves on to https.
                    LogSourceFailed(_logger, url, e.Message);
                    sourceIndex++;
                }
                catch (LocalWriteException e)
                {
                    // The disk, not the network: retrying cannot help.
                    keep = false;
                    throw LocalFailure(request, e.Inner);
                }
                catch (Exception e) when (IsTransient(e, cancellationToken))
                {
                    await DrainAsync(request, writer).ConfigureAwait(false);
                    if (writer.Length - before >= _options.MinAttemptProgress)
                    {
                        failures = 0;
                    }

                    // Another URL of the same file (http → https) is tried at once while nothing was received; a URL
                    // that failed that way is not tried again, so the attempts counted are those of the URL that serves.
                    if (state.Received == 0 && sourceIndex + 1 < request.Sources.Count)
                    {
                        LogSourceFailed(_logger, url, e.Message);
                        sourceIndex++;
                        continue;
                    }

                    failures++;
                    if (failures >= _options.MaxAttempts)
                    {
                        var message = GiveUpMessage(state, url, e);
                        LogGaveUp(_logger, message);
                        throw new RemoteException(message, url, e);
                    }

                    var delay = RetryDelay(failures, e, request.Settings);
                    LogRetry(_logger, url, e.Message, writer.Length, state.RequestsTo[url] + 1, delay.TotalMilliseconds);
                    if (_options.OnRetry is { } onRetry)
                    {
                        await onRetry(new DownloadRetry(url, state.Requests, writer.Length, delay, e)).ConfigureAwait(false);
                    }

                    await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                }
            }

            await DrainAsync(request, writer).ConfigureAwait(false);
            keep = false;
            var (sha256, combined) = await writer.FinishAsync().ConfigureAwait(false);
            var finalUrl = state.Url ?? request.Sources[0];
            if (request.ExpectedSize is { } size && size != writer.Length)
            {
                throw new SizeMismatchException(finalUrl, size, writer.Length);
            }

            if (request.ExpectedSha256 is { Length: > 0 } expected && !sha256.StartsWith(expected, StringComparison.OrdinalIgnoreCase))
            {
                throw new HashMismatchException(finalUrl, expected.ToLowerInvariant(), sha256);
            }

            Report(state, force: true);
            ok = true;
            var fileName = state.FileName ?? LastSegment(finalUrl);
            return new DownloadedFile(path, writer.Length, sha256, combined, fileName, finalUrl, state.Requests);
        }
        catch (Exception e) when (e is SizeMismatchException or HashMismatchException or InsufficientStorageException)
        {
            keep = false;
            throw;
        }
        finally
        {
            writer.Dispose();
            if (request.FirstResponse is { } first)
            {
                first.Dispose();
            }

            if (!ok)
            {
                // What arrived before a failure or a cancellation waits for the next download of the same file.
                var length = writer.Length;
                if (keep && partials is not null && length > 0 && writer.Intact
                    && partials.Keep(path, new PartialFile(length, state.SourceLength, state.ETag, state.LastModified)))
                {
                    LogPartialKept(_logger, request.Sources[0], length, partials.PartPath, _options.PartialDownloadTtl);
                }
                else
                {
                    TryDelete(path);
                }
            }
        }
    }

    private string GiveUpMessage(TransferState state, Uri url, Exception error)
    {
        var attempts = state.RequestsTo.GetValueOrDefault(url);
        var held = state.Total is { } total
            ? string.Create(CultureInfo.InvariantCulture, $"{state.Writer.Length} of {total} bytes")
            : string.Create(CultureInfo.InvariantCulture, $"{state.Writer.Length} bytes");
        // What the server did last, in words: the status a transient error already names; else the answer and how its body ended.
        var last = (error, state.LastAnswer, state.BodyStarted) switch
        {
            (TransientResponseException, _, _) => string.Empty,
            (HttpRequestException, null, _) when Innermost(error) is var reason && reason != error.Message => $" (no answer to the last request: {reason.TrimEnd('.')})",
            (_, null, _) => string.Empty,
            (_, { } answer, false) => $" (its last answer: {answer})",
            (TimeoutException, { } answer, true) => string.Create(CultureInfo.InvariantCulture, $" (its last answer: {answer}; {state.AnswerBytes} {(state.AnswerBytes == 1 ? "byte" : "bytes")} of it arrived, then nothing)"),
            (_, { } answer, true) => string.Create(CultureInfo.InvariantCulture, $" (its last answer: {answer}; the connection broke after {state.AnswerBytes} {(state.AnswerBytes == 1 ? "byte" : "bytes")} of it)"),
        };
        return string.Create(CultureInfo.InvariantCulture, $"Download of {url} gave up after {attempts} {(attempts == 1 ? "attempt" : "attempts")} with {held}: {error.Message.TrimEnd('.')}{last}.");
    }

    private async Task FetchOnceAsync(TransferState state, Uri url, CancellationToken cancellationToken)
    {
        var writer = state.Writer;
        var request = state.Request;
        var stallTimeout = request.Settings?.StallTimeout ?? _options.StallTimeout;
        using var message = new HttpRequestMessage(HttpMethod.Get, url);
        message.Options.Set(RemoteConnection.BulkTransfer, true);
        var resumeFrom = writer.Length;
        state.LastAnswer = null;
        state.BodyStarted = false;
        state.AnswerBytes = 0;
        if (resumeFrom > 0)
        {
            message.Headers.Range = new RangeHeaderValue(resumeFrom, null);
            if (state.ETag is { IsWeak: false } etag)
            {
                // If the file changed since the first request the server sends all of it (200) and we restart.
                message.Headers.IfRange = new RangeConditionHeaderValue(etag);
            }
            else if (state.LastModified is { } modified)
            {
                message.Headers.IfRange = new RangeConditionHeaderValue(modified);
            }
        }

        HttpResponseMessage response;
        if (!state.FirstResponseUsed && request.FirstResponse is { } first)
        {
            state.FirstResponseUsed = true;
            response = first;
        }
        else
        {
            state.FirstResponseUsed = true;
            using (var headers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                headers.CancelAfter(_options.ResponseHeaderTimeout);
                try
                {
                    response = await request.Client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, headers.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"No response headers from {url} within {_options.ResponseHeaderTimeout}.", e);
                }
            }
        }

        using (response)
        {
            state.LastAnswer = $"{(int)response.StatusCode} {response.ReasonPhrase}";
            long? end = null;
            switch (response.StatusCode)
            {
                case HttpStatusCode.PartialContent when resumeFrom > 0 && response.Content.Headers.ContentRange is { } range:
                    if (range.From != resumeFrom || (state.ResumedTotal is { } kept && range.Length is { } length && length != kept)
                        || (state.ETag is { IsWeak: false } held && response.Headers.ETag is { } now && now.Tag != held.Tag))
                    {
                        // Not the piece we asked for, or no longer the file the kept bytes came from: start over rather than guess.
                        await writer.RestartAsync().ConfigureAwait(false);
                        state.ResumedTotal = null;
                        throw new IOException($"{url} answered a range from {range.From} of a {range.Length}-byte file, asked from {resumeFrom}.");
                    }

                    state.ResumedTotal = null;
                    end = range.To + 1;
                    state.SourceLength = range.Length;
                    state.Total ??= range.Length;
                    break;
                case HttpStatusCode.OK:
                    if (resumeFrom > 0)
                    {
                        // The server ignored Range (or the file changed): the body is the whole file again.
                        LogRangeIgnored(_logger, url, resumeFrom);
                        await writer.RestartAsync().ConfigureAwait(false);
                        state.Restarts++;
                        state.ResumedTotal = null;
                    }

                    state.ETag = response.Headers.ETag ?? state.ETag;
                    state.LastModified = response.Content.Headers.LastModified ?? state.LastModified;
                    end = response.Content.Headers.ContentLength;
                    state.SourceLength = end;
                    state.Total = request.ExpectedSize ?? end ?? state.Total;
                    break;
                case HttpStatusCode.RequestedRangeNotSatisfiable when resumeFrom > 0 && resumeFrom == request.ExpectedSize:
                    return;
                case HttpStatusCode.RequestedRangeNotSatisfiable when resumeFrom > 0 && response.Content.Headers.ContentRange is { HasLength: true, Length: { } size }:
                    if (size == resumeFrom)
                    {
                        // "bytes */<size>": the file is <size> bytes and they are all here (a longer length was announced
                        // before); the hash decides whether they are the right ones.
                        LogRangePastEnd(_logger, url, resumeFrom);
                        state.Total = size;
                        return;
                    }

                    await writer.RestartAsync().ConfigureAwait(false);
                    throw new IOException($"{url} is {size} bytes now, {resumeFrom} were held; starting over.");
                default:
                    if (RemoteResponses.IsTransient(response.StatusCode))
                    {
                        throw RemoteResponses.Transient(response, url, _time);
                    }

                    throw await RemoteResponses.ToErrorAsync(response, url, cancellationToken).ConfigureAwait(false);
            }

            state.FileName ??= FileNameOf(response);
            if (request.RequireFileName && state.FileName is null)
            {
                throw new RemoteProtocolException($"Missing Content-Disposition filename in the reply of {url}", url);
            }

            state.BodyStarted = true;
            using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);

            // The body is read on a thread of its own with blocking reads: the kernel wakes that thread when data
            // arrives, instead of each wait going through the socket engine and the thread pool (a wait every
            // few TLS records). Cancellation closes the body, which ends a blocked read.
            // A server that goes silent without closing is cut off the same way after the stall timeout without a byte.
            using (cancellationToken.Register(static b => ((Stream)b!).Dispose(), body))
            using (var watchdog = stallTimeout > TimeSpan.Zero ? new StallWatchdog(body, stallTimeout, _time) : null)
            {
                state.Watchdog = watchdog;
                await Task.Factory.StartNew(() => CopyBody(state, body, url, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                    .ConfigureAwait(false);
            }

            // A body closed by the cancellation or the watchdog may read as a short end rather than fail.
            cancellationToken.ThrowIfCancellationRequested();
            if (state.Watchdog is { Stalled: true })
            {
                throw Stalled(url, stallTimeout, null);
            }

            state.Watchdog = null;

            if (end is { } last && writer.Length < last)
            {
                throw new IOException($"{url} ended after {writer.Length} of {last} bytes.");
            }
        }
    }

    private static TimeoutException Stalled(Uri url, TimeSpan timeout, Exception? inner) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{url} sent nothing for {timeout.TotalSeconds:0.#} s."), inner);

    private void CopyBody(TransferState state, Stream body, Uri url, CancellationToken cancellationToken)
    {
        var writer = state.Writer;
        var expected = state.Request.ExpectedSize;
        while (true)
        {
            var buffer = writer.NextBuffer;
            var filled = 0;
            Exception? broken = null;
            try
            {
                int n;
                while (filled < buffer.Length && (n = body.Read(buffer.Span[filled..])) > 0)
                {
                    filled += n;
                    state.Watchdog?.Progressed();
                    Report(state, force: false, buffered: filled);
                }
            }
            catch (Exception e) when (e is IOException or HttpRequestException or ObjectDisposedException)
            {
                cancellationToken.ThrowIfCancellationRequested();

                // Keep what arrived before the break: the resume starts right after it.
                broken = state.Watchdog is { Stalled: true } watchdog
                    ? Stalled(url, watchdog.Timeout, e)
                    : e is ObjectDisposedException ? new IOException($"The connection to {url} was closed.", e) : e;
            }

            if (filled > 0)
            {
                if (expected is { } size && writer.Length + filled > size)
                {
                    throw new SizeMismatchException(url, size, writer.Length + filled);
                }

                try
                {
                    writer.CommitAsync(filled).AsTask().GetAwaiter().GetResult();
                }
                catch (IOException e)
                {
                    throw new LocalWriteException(e);
                }

                state.Received += filled;
                state.AnswerBytes += filled;
                Report(state, force: false);
            }

            if (broken is not null)
            {
                ExceptionDispatchInfo.Throw(broken);
            }

            if (filled < buffer.Length)
            {
                return;
            }
        }
    }

    private void Report(TransferState state, bool force, int buffered = 0)
    {
        if (state.Request.Progress is not { } progress)
        {
            return;
        }

        var now = _time.GetTimestamp();
        if (!force && state.Reported && _time.GetElapsedTime(state.LastReport, now) < _options.ProgressInterval)
        {
            return;
        }

        state.Reported = true;
        state.LastReport = now;
        var seconds = _time.GetElapsedTime(state.Started, now).TotalSeconds;
        var rate = seconds > 0 ? state.Received / seconds : 0;
        progress.Report(new DownloadProgress(state.Request.Label, state.Writer.Length, state.Total, rate) { BytesArrived = state.Writer.Length + buffered });
    }

    /// <summary>Waits for the chunks still being written; a failed write is the disk's failure, typed when the disk is full.</summary>
    private static async Task DrainAsync(DownloadRequest request, HashingFileWriter writer)
    {
        try
        {
            await writer.DrainAsync().ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw LocalFailure(request, e);
        }
    }

    private static IOException LocalFailure(DownloadRequest request, IOException error) =>
        InsufficientStorageException.IsDiskFull(error) && error is not InsufficientStorageException
            ? new InsufficientStorageException(request.TempDirectory, request.ExpectedSize, error)
            : error;

    private static bool IsTransient(Exception e, CancellationToken cancellationToken)
    {
        return !cancellationToken.IsCancellationRequested
            && e is HttpRequestException or IOException or TimeoutException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested);
    }

    private static string Innermost(Exception error)
    {
        var inner = error;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        return inner.Message;
    }

    /// <summary>A TLS handshake refused over the server's certificate: asking again gets the same certificate.</summary>
    private static bool IsCertificateRefusal(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is System.Security.Authentication.AuthenticationException)
            {
                return true;
            }
        }

        return false;
    }

    private static string? FileNameOf(HttpResponseMessage response)
    {
        var disposition = response.Content.Headers.ContentDisposition;
        var name = disposition?.FileNameStar ?? disposition?.FileName;
        return string.IsNullOrEmpty(name) ? null : Path.GetFileName(name.Trim('"'));
    }

    private static string LastSegment(Uri url) => Path.GetFileName(Uri.UnescapeDataString(url.AbsolutePath));

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Download from {Url} failed: {Error} {BytesOnDisk} bytes are on disk; attempt {Attempt} resumes from there on a new connection in {DelayMs:0} ms")]
    private static partial void LogRetry(ILogger logger, Uri url, string error, long bytesOnDisk, int attempt, double delayMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Message}")]
    private static partial void LogGaveUp(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request for {Url} failed: {Error} Attempt {Attempt} of {MaxAttempts} in {DelayMs:0} ms")]
    private static partial void LogRequestRetry(ILogger logger, Uri url, string error, int attempt, int maxAttempts, double delayMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Request for {Url} gave up after {Attempts} attempts: {Error}")]
    private static partial void LogRequestGaveUp(ILogger logger, Uri url, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Url} has no bytes after {Length}: the file is complete")]
    private static partial void LogRangePastEnd(ILogger logger, Uri url, long length);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kept {Bytes} bytes of {Url} in {Path}; a download of the same file within {Ttl} resumes them")]
    private static partial void LogPartialKept(ILogger logger, Uri url, long bytes, string path, TimeSpan ttl);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resuming {Url} from byte {Bytes} kept from an earlier download of {Sha256}")]
    private static partial void LogPartialResumed(ILogger logger, Uri url, long bytes, string sha256);

    [LoggerMessage(Level = LogLevel.Information, Message = "Source {Url} failed, trying the next one: {Error}")]
    private static partial void LogSourceFailed(ILogger logger, Uri url, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Url} ignored Range from byte {From}; downloading from the start")]
    private static partial void LogRangeIgnored(ILogger logger, Uri url, long from);

    private sealed class TransferState(DownloadRequest request, HashingFileWriter writer, long started)
    {
        public DownloadRequest Request { get; } = request;

        public HashingFileWriter Writer { get; } = writer;

        public long Started { get; } = started;

        public long LastReport { get; set; } = started;

        public long Received { get; set; }

        public bool Reported { get; set; }

        public long? Total { get; set; } = request.ExpectedSize;

        public int Requests { get; set; }

        public int Restarts { get; set; }

        public Dictionary<Uri, int> RequestsTo { get; } = [];

        public bool FirstResponseUsed { get; set; }

        /// <summary>The status line of the last request's answer; null while it has none.</summary>
        public string? LastAnswer { get; set; }

        /// <summary>Whether the last answer's body was being read (a failure then is a break in the body).</summary>
        public bool BodyStarted { get; set; }

        /// <summary>Bytes of the last answer's body that arrived.</summary>
        public long AnswerBytes { get; set; }

        public long? SourceLength { get; set; }

        public long? ResumedTotal { get; set; }

        public DateTimeOffset? LastModified { get; set; }

        public EntityTagHeaderValue? ETag { get; set; }

        public string? FileName { get; set; }

        public Uri? Url { get; set; }

        public StallWatchdog? Watchdog { get; set; }
    }

    /// <summary>
    /// Closes a body that received nothing for the stall timeout. One timer, set for the moment the timeout would
    /// run out if nothing more arrived, and moved there again when it fires early: the cut comes at the timeout.
    /// </summary>
    private sealed class StallWatchdog : IDisposable
    {
        private readonly Stream _body;
        private readonly TimeProvider _time;
        private readonly ITimer _timer;
        private long _lastProgress;
        private int _stalled;

        public StallWatchdog(Stream body, TimeSpan timeout, TimeProvider time)
        {
            _body = body;
            Timeout = timeout;
            _time = time;
            _lastProgress = time.GetTimestamp();
            _timer = time.CreateTimer(static w => ((StallWatchdog)w!).Check(), this, timeout, System.Threading.Timeout.InfiniteTimeSpan);
        }

        public TimeSpan Timeout { get; }

        public bool Stalled => Volatile.Read(ref _stalled) == 1;

        public void Progressed() => Volatile.Write(ref _lastProgress, _time.GetTimestamp());

        public void Dispose() => _timer.Dispose();

        private void Check()
        {
            var idle = _time.GetElapsedTime(Volatile.Read(ref _lastProgress));
            if (idle < Timeout)
            {
                try
                {
                    _timer.Change(Timeout - idle, System.Threading.Timeout.InfiniteTimeSpan);
                }
                catch (ObjectDisposedException)
                {
                }

                return;
            }

            if (Interlocked.Exchange(ref _stalled, 1) == 0)
            {
                _body.Dispose();
            }
        }
    }

    /// <summary>A write to the temp file failed (carried out of the read loop so that it is not retried as a network error).</summary>
    private sealed class LocalWriteException(IOException inner) : Exception(inner.Message, inner)
    {
        public IOException Inner { get; } = inner;
    }
}
