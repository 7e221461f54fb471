using ImageActors.Actors;
using ImageActors.Images.Caching;
using ImageActors.Images.Configuration;

namespace ImageActors.Images.Actors;

/// <summary>
/// Applies the cache rules (spec §5.2, and <c>expires_at</c>, and <c>images.cache_max_size</c>):
/// at start, then every interval, and on request. It plans from the read model and asks each
/// image's actor to go; an image actor refuses while an export or alias still uses the image.
/// </summary>
internal sealed class EvictionActor : ReceiveActor
{
    private readonly ImageStoreContext _context;
    private readonly ImagesOptions _options;

    public EvictionActor(ImageStoreContext context, ImagesOptions options, TimeSpan? interval)
    {
        _context = context;
        _options = options;
        if (interval is { } every && every > TimeSpan.Zero)
        {
            Timers.StartPeriodicTimer("prune", new Tick(), TimeSpan.Zero, every);
        }

        ReceiveAsync<Tick>(async _ => await RunAsync().ConfigureAwait(false));
        ReceiveAsync<RunNow>(async _ =>
        {
            var sender = Sender;
            sender.Tell(new Evicted(await RunAsync().ConfigureAwait(false)));
        });
    }

    public static Props Props(ImageStoreContext context, ImagesOptions options, TimeSpan? interval) =>
        ImageActors.Actors.Props.Create(() => new EvictionActor(context, options, interval));

    /// <summary>Run the rules now; reply <see cref="Evicted"/>.</summary>
    public sealed record RunNow;

    /// <summary>What went.</summary>
    public sealed record Evicted(IReadOnlyList<Eviction> Images);

    private sealed record Tick;

    private async Task<IReadOnlyList<Eviction>> RunAsync()
    {
        var images = _context.Catalog.List();
        var plan = CacheRules.Plan(images, _options.RemoteCacheExpiry, _options.CacheMaxSize ?? 0, _context.Clock.GetUtcNow());
        var done = new List<Eviction>();
        foreach (var eviction in plan)
        {
            try
            {
                var reply = await _context.AskImage<object>(eviction.Image.Project, eviction.Image.Fingerprint, new ImageProtocol.Evict(eviction.Reason)).ConfigureAwait(false);
                if (reply is ImageProtocol.Deleted)
                {
                    done.Add(eviction);
                    _context.RaiseImage("image-deleted", eviction.Image);
                }
            }
            catch (Domain.ImageStoreException)
            {
                // Gone or busy meanwhile: the next run looks again.
            }
        }

        return done;
    }
}
