using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ImageActors.Remotes.Incus;
using ImageActors.Remotes.SimpleStreams;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ImageActors.TestServers;

/// <summary>What the server does with one request for the file before (or instead of) serving it.</summary>
public abstract record Fault
{
    /// <summary>Answers this status (and <c>Retry-After</c> when given) without a body.</summary>
    public sealed record Status(int Code, int? RetryAfterSeconds = null) : Fault;

    /// <summary>Sends this many bytes of what was asked for, then drops the connection.</summary>
    public sealed record Cut(long After) : Fault;

    /// <summary>Sends this many bytes, then nothing, with the connection left open until the client gives up.</summary>
    public sealed record Stall(long After) : Fault;

    /// <summary>
    /// Announces a Content-Length this many bytes larger than the file, sends the file, then drops the connection, or
    /// with <paramref name="ThenStall"/> leaves it open and silent (so that every byte sent reaches the client first).
    /// </summary>
    public sealed record LongerLength(long Extra, bool ThenStall = false) : Fault;

    /// <summary>Serves the file with the byte at this offset inverted (the length and headers are right).</summary>
    public sealed record Flip(long At) : Fault;

    /// <summary>
    /// Sends the file in pieces of the sizes read from <paramref name="Pieces"/>, silent (with the connection open) while none
    /// is waiting, and the rest of the file once the channel is completed.
    /// </summary>
    public sealed record Paced(System.Threading.Channels.ChannelReader<long> Pieces) : Fault;

    /// <summary>Sends this many bytes, completes <see cref="Reached"/>, and sends the rest once <paramref name="Release"/> completes.</summary>
    public sealed record Hold(long After, Task Release) : Fault
    {
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when the first bytes were sent and the server waits for the release.</summary>
        public Task Reached => _reached.Task;

        internal void Arrive() => _reached.TrySetResult();
    }
}

/// <summary>
/// A deliberately bad image server over TLS on loopback: a URL that names an image with the Incus-Image-Hash /
/// Incus-Image-URL headers (<c>/image</c>, HEAD) and the file itself (<c>/files/image.tar</c>, ranges and a strong
/// ETag). The same file is also published as a unified image aliased <c>image</c> over SimpleStreams
/// (<c>streams/v1/index.json</c>, <c>streams/v1/images.json</c>) and over the Incus REST API (<c>/1.0/images/aliases/image</c>,
/// <c>/1.0/images/&lt;fp&gt;</c>, its export). Each request for the HEAD or the file first takes the next fault of its queue, and
/// each metadata request the next fault queued for its path (a status, a cut, or a hold of the whole answer); with none left, it is served properly. Counts the file bytes it sent.
/// </summary>
public sealed class UnreliableImageServer : IAsyncDisposable
{
    private readonly byte[] _file;
    private readonly CancellationTokenSource _stop = new();
    private LoopbackServer _server = null!;
    private long _bytesServed;

    private UnreliableImageServer(byte[] file, X509Certificate2 certificate)
    {
        _file = file;
        Certificate = certificate;
    }

    /// <summary>The server's self-signed certificate.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The server's root: the SimpleStreams and Incus REST server of the image.</summary>
    public Uri BaseUri => _server.BaseUri;

    /// <summary>The URL that names the image (HEAD gives its hash and file URL).</summary>
    public Uri ImageUrl => new(_server.BaseUri, "image");

    /// <summary>The file's URL.</summary>
    public Uri FileUrl => new(_server.BaseUri, "files/image.tar");

    /// <summary>The SHA-256 of the file, which is the image's fingerprint.</summary>
    public string Fingerprint => Bytes.Sha256(_file);

    /// <summary>The file's length.</summary>
    public long Length => _file.Length;

    /// <summary>Faults for the next HEAD requests, in order.</summary>
    public ConcurrentQueue<Fault> HeadFaults { get; } = new();

    /// <summary>Faults for the next file requests, in order.</summary>
    public ConcurrentQueue<Fault> FileFaults { get; } = new();

    /// <summary>Faults for the next requests of a metadata path (<c>/streams/v1/index.json</c>, <c>/1.0/images/aliases/image</c>, ...), in order.</summary>
    public ConcurrentDictionary<string, ConcurrentQueue<Fault>> MetadataFaults { get; } = new(StringComparer.Ordinal);

    /// <summary>Queues <paramref name="fault"/> for the next request of the metadata path <paramref name="path"/>.</summary>
    public void FailNext(string path, Fault fault) => MetadataFaults.GetOrAdd(path, _ => new()).Enqueue(fault);

    /// <summary>A fault every file request gets once the queue is empty (null: serve properly).</summary>
    public Fault? EveryFileRequest { get; set; }

    /// <summary>File bytes sent so far (over all requests).</summary>
    public long BytesServed => Interlocked.Read(ref _bytesServed);

    /// <summary>The requests seen.</summary>
    public IReadOnlyCollection<SeenRequest> Requests => _server.Requests;

    /// <summary>GET requests for the file, with their arrival times.</summary>
    public ConcurrentQueue<(DateTimeOffset At, string? Range)> FileRequests { get; } = new();

    public static async Task<UnreliableImageServer> StartAsync(byte[] file)
    {
        var server = new UnreliableImageServer(file, TestCertificates.Create("unreliable"));
        server._server = await LoopbackServer.StartAsync(server.Map, server.Certificate);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _server.DisposeAsync();
        _stop.Dispose();
    }

    private void Map(WebApplication app)
    {
        app.MapMethods("/image", ["HEAD", "GET"], async (HttpContext context) =>
        {
            if (HeadFaults.TryDequeue(out var fault) && fault is Fault.Status status)
            {
                await AnswerAsync(context, status);
                return;
            }

            context.Response.Headers["Incus-Image-Hash"] = Fingerprint;
            context.Response.Headers["Incus-Image-URL"] = FileUrl.ToString();
        });
        app.MapGet("/files/image.tar", ServeFileAsync);
        app.MapGet("/streams/v1/index.json", context => MetadataAsync(context, JsonSerializer.SerializeToUtf8Bytes(Index(), SimpleStreamsJsonContext.Default.StreamIndex)));
        app.MapGet("/streams/v1/images.json", context => MetadataAsync(context, JsonSerializer.SerializeToUtf8Bytes(Products(), SimpleStreamsJsonContext.Default.ProductsFile)));
        app.MapGet("/1.0/images/aliases/image", context => MetadataAsync(
            context,
            JsonSerializer.SerializeToUtf8Bytes(IncusResponse.Sync(new ImageAliasesEntry { Name = "image", Target = Fingerprint }), IncusJsonContext.Default.IncusResponseImageAliasesEntry)));
        app.MapGet("/1.0/images/{fingerprint}", (string fingerprint, HttpContext context) => fingerprint == Fingerprint
            ? MetadataAsync(context, JsonSerializer.SerializeToUtf8Bytes(IncusResponse.Sync(ApiImage()), IncusJsonContext.Default.IncusResponseImage))
            : Results.NotFound().ExecuteAsync(context));
        app.MapGet("/1.0/images/{fingerprint}/export", (string fingerprint, HttpContext context) =>
        {
            context.Response.Headers.ContentDisposition = $"inline;filename={Fingerprint}.tar";
            return ServeFileAsync(context);
        });
    }

    private async Task MetadataAsync(HttpContext context, byte[] body)
    {
        if (MetadataFaults.TryGetValue(context.Request.Path.Value ?? "", out var faults) && faults.TryDequeue(out var fault))
        {
            switch (fault)
            {
                case Fault.Status status:
                    await AnswerAsync(context, status);
                    return;
                case Fault.Hold hold:
                    // Nothing at all until the release (the headers neither): a server that took the request and hangs.
                    hold.Arrive();
                    using (var both = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stop.Token))
                    {
                        try
                        {
                            await hold.Release.WaitAsync(both.Token);
                        }
                        catch (OperationCanceledException)
                        {
                            context.Abort();
                            return;
                        }
                    }

                    break;
                case Fault.Cut cut:
                    context.Response.ContentLength = body.Length;
                    await context.Response.Body.WriteAsync(body.AsMemory(0, (int)Math.Min(cut.After, body.Length)));
                    await context.Response.Body.FlushAsync();
                    context.Abort();
                    return;
            }
        }

        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body);
    }

    private StreamIndex Index() => new()
    {
        Index = new Dictionary<string, StreamIndexEntry> { ["images"] = new() { Path = "streams/v1/images.json", Products = [ProductKey] } },
    };

    private ProductsFile Products() => new()
    {
        Products = new Dictionary<string, Product>
        {
            [ProductKey] = new()
            {
                Aliases = "image",
                Architecture = Remotes.Architectures.Native,
                OperatingSystem = "Debian",
                Release = "12",
                Variant = "default",
                Versions = new Dictionary<string, ProductVersion>
                {
                    ["20260101_00:00"] = new()
                    {
                        Items = new Dictionary<string, ProductVersionItem>
                        {
                            ["incus_combined.tar.gz"] = new() { FileType = FileTypes.IncusCombined, Path = "files/image.tar", Sha256 = Fingerprint, Size = _file.Length },
                        },
                    },
                },
            },
        },
    };

    private string ProductKey => $"debian:12:{Remotes.Architectures.Native}:default";

    private Image ApiImage() => new()
    {
        Fingerprint = Fingerprint,
        Filename = Fingerprint + ".tar",
        Size = _file.Length,
        Architecture = Remotes.Architectures.Native,
        Type = ImageTypes.Container,
        Public = true,
        Aliases = [new ImageAlias { Name = "image" }],
        Properties = new Dictionary<string, string> { ["os"] = "Debian", ["release"] = "12" },
    };

    private async Task ServeFileAsync(HttpContext context)
    {
        FileRequests.Enqueue((DateTimeOffset.UtcNow, context.Request.Headers.Range.Count > 0 ? context.Request.Headers.Range.ToString() : null));
        var fault = FileFaults.TryDequeue(out var next) ? next : EveryFileRequest;
        if (fault is Fault.Status status)
        {
            await AnswerAsync(context, status);
            return;
        }

        long from = 0;
        var range = context.Request.Headers.Range.ToString();
        var ifRange = context.Request.Headers.IfRange.ToString();
        context.Response.Headers.AcceptRanges = "bytes";
        context.Response.Headers.ETag = "\"" + Fingerprint[..16] + "\"";
        context.Response.ContentType = "application/octet-stream";
        if (range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-') && (ifRange.Length == 0 || ifRange == context.Response.Headers.ETag.ToString()))
        {
            from = long.Parse(range["bytes=".Length..^1], CultureInfo.InvariantCulture);
            if (from >= _file.Length)
            {
                context.Response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                context.Response.Headers.ContentRange = $"bytes */{_file.Length}";
                return;
            }

            context.Response.StatusCode = StatusCodes.Status206PartialContent;
            context.Response.Headers.ContentRange = $"bytes {from}-{_file.Length - 1}/{_file.Length}";
        }

        context.Response.ContentLength = _file.Length - from + (fault is Fault.LongerLength longer ? longer.Extra : 0);
        var end = fault switch
        {
            Fault.Cut cut => Math.Min(_file.Length, from + cut.After),
            Fault.Stall stall => Math.Min(_file.Length, from + stall.After),
            _ => _file.Length,
        };
        if (fault is Fault.Hold hold)
        {
            await SendAsync(context, from, Math.Min(_file.Length, from + hold.After));
            hold.Arrive();
            using var both = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stop.Token);
            try
            {
                await hold.Release.WaitAsync(both.Token);
            }
            catch (OperationCanceledException)
            {
                context.Abort();
                return;
            }

            from = Math.Min(_file.Length, from + hold.After);
        }

        if (fault is Fault.Paced paced)
        {
            try
            {
                await foreach (var piece in paced.Pieces.ReadAllAsync(context.RequestAborted))
                {
                    var to = Math.Min(end, from + piece);
                    await SendAsync(context, from, to);
                    from = to;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        await SendAsync(context, from, end, (fault as Fault.Flip)?.At);
        switch (fault)
        {
            case Fault.Stall or Fault.LongerLength { ThenStall: true }:
                using (var both = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stop.Token))
                {
                    try
                    {
                        await Task.Delay(Timeout.Infinite, both.Token);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }

                context.Abort();
                break;
            case Fault.Cut or Fault.LongerLength:
                context.Abort();
                break;
        }
    }

    private async Task SendAsync(HttpContext context, long from, long end, long? flip = null)
    {
        const int chunk = 64 * 1024;
        for (var offset = from; offset < end; offset += chunk)
        {
            var n = (int)Math.Min(chunk, end - offset);
            var piece = _file.AsMemory((int)offset, n);
            if (flip is { } at && at >= offset && at < offset + n)
            {
                var copy = piece.ToArray();
                copy[at - offset] ^= 0xff;
                piece = copy;
            }

            await context.Response.Body.WriteAsync(piece, context.RequestAborted);
            Interlocked.Add(ref _bytesServed, n);
        }

        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    private static async Task AnswerAsync(HttpContext context, Fault.Status status)
    {
        context.Response.StatusCode = status.Code;
        if (status.RetryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        await context.Response.Body.FlushAsync();
    }
}
