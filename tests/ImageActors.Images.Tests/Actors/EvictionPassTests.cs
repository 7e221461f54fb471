using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Cluster.Sharding;
using ImageActors.Images.Actors;
using ImageActors.Images.Configuration;
using ImageActors.Images.Diagnostics;
using ImageActors.Images.Events;
using ImageActors.Images.ReadModel;
using ImageActors.Streaming.Storage;
using Microsoft.Extensions.Time.Testing;

namespace ImageActors.Images.Tests.Actors;

/// <summary>
/// The eviction actor on its own: the read model is a catalog the test fills, the images' region is a probe that
/// answers each request to go when the test says so, and the store's clock is a fake that moves only when the test
/// moves it. The asks' own timeout is far away, so whatever the pass does before it comes from the pass.
/// </summary>
public sealed class EvictionPassTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly DateTimeOffset Start = Images.Epoch.AddDays(1);
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(10);

    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("imageactors-eviction-pass-");
    private readonly StoreMetrics _metrics = new(null, NoGauges.Instance);
    private readonly FakeTimeProvider _clock = new(Start);
    private readonly ImageCatalog _catalog = new();
    private readonly ConcurrentQueue<ImageLifecycleEvent> _announced = new();
    private readonly Akka.TestKit.TestProbe _images;
    private readonly ImageStoreContext _context;

    public EvictionPassTests()
        : base("akka.loglevel = WARNING")
    {
        _images = CreateTestProbe();
        _context = new ImageStoreContext(new BlobStore(_data.FullName, new BlobStoreOptions(Durable: false)), _catalog, _clock, TimeSpan.FromMinutes(10))
        {
            Waiters = Sys,
            Metrics = _metrics,
            ImageRegion = _images.Ref,
            RaiseLifecycle = _announced.Enqueue,
        };
    }

    /// <summary>
    /// The appliance's stall: one image did not answer its eviction for the whole ask timeout, and the pass (and a
    /// download waiting for the size bound behind it) waited with it. Now the pass asks the next least recently used
    /// image for the bytes and ends without the slow one.
    /// </summary>
    [Fact]
    public void A_pass_of_the_size_bound_goes_on_without_an_image_slow_to_answer_and_asks_the_next_one()
    {
        var slow = Images.Record(Images.Fp("e0", "slow"), cached: true, size: 100, lastUsed: Images.Epoch);
        var next = Images.Record(Images.Fp("e1", "next"), cached: true, size: 100, lastUsed: Images.Epoch.AddHours(1));
        var kept = Images.Record(Images.Fp("e2", "kept"), cached: true, size: 100, lastUsed: Images.Epoch.AddHours(2));
        _catalog.ApplyEvents([new ImageStored(slow), new ImageStored(next), new ImageStored(kept)]);
        var eviction = Sys.ActorOf(EvictionActor.Props(_context, new ImagesOptions { CacheMaxSize = 250 }, interval: null));

        eviction.Tell(new EvictionActor.RunNow([]));

        // One image's bytes meet the bound: the least recently used one is asked, and does not answer.
        var first = _images.ExpectMsg<ShardingEnvelope>(Prompt);
        Assert.Equal(ImageStoreContext.ImageEntityId(slow.Project, slow.Fingerprint), first.EntityId);
        var slowAsker = _images.LastSender;
        _clock.Advance(EvictionActor.SlowAnswer);

        var second = _images.ExpectMsg<ShardingEnvelope>(Prompt);
        Assert.Equal(ImageStoreContext.ImageEntityId(next.Project, next.Fingerprint), second.EntityId);
        Assert.IsType<ImageProtocol.Evict>(second.Message);
        _images.Reply(new ImageProtocol.Deleted(next.Fingerprint));

        var evicted = ExpectMsg<EvictionActor.Evicted>(Prompt);
        Assert.Equal([next.Fingerprint], evicted.Images.Select(e => e.Image.Fingerprint));

        // The slow image's answer still counts when it comes: its deletion is announced, as the other one's was.
        slowAsker.Tell(new ImageProtocol.Deleted(slow.Fingerprint));
        AwaitCondition(() => _announced.Count(e => e.Action == "image-deleted") == 2, Prompt);
        Assert.Equal(
            [$"/1.0/images/{next.Fingerprint}", $"/1.0/images/{slow.Fingerprint}"],
            _announced.Select(e => e.Source));
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _metrics.Dispose();
        _data.Delete(recursive: true);
    }
}
