using Akka.Actor;
using ImageActors.Images.Domain;

namespace ImageActors.Images.Actors;

/// <summary>
/// Incus' auto-update cycle (spec §5.3): at start and then every <c>images.auto_update_interval</c>,
/// each image with <c>auto_update</c> and a recorded source is refreshed: the source's alias is
/// resolved again, and a newer image replaces the old one. An interval of zero disables it.
/// </summary>
internal sealed class AutoUpdateActor : ReceiveActor, IWithTimers
{
    private readonly ImageStoreContext _context;
    private readonly IImageUpdateSource? _source;
    private readonly TimeSpan _interval;

    public AutoUpdateActor(ImageStoreContext context, IImageUpdateSource? source, TimeSpan interval)
    {
        _context = context;
        _source = source;
        _interval = interval;

        ReceiveAsync<Tick>(async _ =>
        {
            foreach (var image in Candidates())
            {
                try
                {
                    await ImageRefresh.RunAsync(_context, _source!, image);
                }
                catch (Exception e) when (e is ImageStoreException or IOException or HttpRequestException or TimeoutException)
                {
                    // One image's source being down must not stop the others; the next cycle retries.
                }
            }
        });
        ReceiveAsync<Refresh>(async refresh =>
        {
            var sender = Sender;
            try
            {
                // The request may have waited behind a cycle that already replaced this image: refresh what is there now.
                var current = _context.Catalog.Find(refresh.Image.Project, refresh.Image.Fingerprint);
                sender.Tell(new Refreshed(current is null
                    ? null
                    : await ImageRefresh.RunAsync(_context, _source ?? throw new InvalidOperationException("No image update source is configured."), current)));
            }
            catch (Exception e)
            {
                sender.Tell(new Status.Failure(e));
            }
        });
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        if (_source is not null && _interval > TimeSpan.Zero)
        {
            Timers.StartPeriodicTimer("auto-update", new Tick(), TimeSpan.Zero, _interval);
        }
    }

    public static Props Props(ImageStoreContext context, IImageUpdateSource? source, TimeSpan interval) =>
        Akka.Actor.Props.Create(() => new AutoUpdateActor(context, source, interval));

    /// <summary>Refresh one image now (Incus' POST …/refresh); reply <see cref="Refreshed"/>.</summary>
    public sealed record Refresh(ImageRecord Image);

    /// <summary>The replacement, or null when the image was up to date.</summary>
    public sealed record Refreshed(ImageRecord? Replacement);

    // The timer's message goes to this actor itself, never across nodes.
    private sealed record Tick : INoSerializationVerificationNeeded;

    /// <summary>Images to refresh: auto_update set, obtained by alias from a server.</summary>
    private IEnumerable<ImageRecord> Candidates() =>
        _context.Catalog.List().Where(i => i.AutoUpdate && i.UpdateSource is { Alias.Length: > 0 });
}

/// <summary>Replaces an image by a newer one from its source with Incus' rules (spec §5.3 step 5).</summary>
internal static class ImageRefresh
{
    public static async Task<ImageRecord?> RunAsync(ImageStoreContext context, IImageUpdateSource source, ImageRecord old, CancellationToken cancellationToken = default)
    {
        var newer = await source.FindNewerAsync(old, cancellationToken).ConfigureAwait(false);
        if (newer is not { } found || found.Fingerprint == old.Fingerprint)
        {
            return null;
        }

        var project = old.Project;
        using (var fetch = context.Fetches.Add(found.Fetch))
        {
            await context.AskImage<ImageRecord>(project, found.Fingerprint, new ImageProtocol.Download(fetch.Ticket), cancellationToken).ConfigureAwait(false);
        }

        // The new image inherits: cached with the old last use (no lifetime extension), or just the
        // last use; the old public flag and profiles; auto_update on; and every alias of the old one.
        var adopted = await context.AskImage<ImageRecord>(project, found.Fingerprint, new ImageProtocol.Adopt(old), cancellationToken).ConfigureAwait(false);
        context.RaiseImage("image-created", adopted, ("type", adopted.Type.ToApiName()));
        foreach (var alias in context.Catalog.Find(project, old.Fingerprint)?.Aliases ?? old.Aliases)
        {
            await context.AskAlias<AliasRecord>(project, alias.Name, new AliasProtocol.Retarget(found.Fingerprint, null), cancellationToken).ConfigureAwait(false);
            context.RaiseAlias("image-alias-updated", project, alias.Name, ("target", found.Fingerprint.ToString()));
        }

        await context.AskImage<ImageProtocol.Deleted>(project, old.Fingerprint, new ImageProtocol.Delete("replaced by " + found.Fingerprint), cancellationToken).ConfigureAwait(false);
        context.RaiseImage("image-deleted", old);
        return await context.AskImage<ImageRecord>(project, found.Fingerprint, new ImageProtocol.Get(), cancellationToken).ConfigureAwait(false);
    }
}
