using Akka.Actor;
using Akka.Cluster.Sharding;
using ImageActors.Images.Actors;
using ImageActors.Images.Caching;
using ImageActors.Images.Diagnostics;
using ImageActors.Images.Domain;
using ImageActors.Images.ReadModel;
using ImageActors.Streaming.Storage;

namespace ImageActors.Images.Tests.Actors;

/// <summary>
/// One image entity on its own, its neighbours played by probes: its aliases' region, its files' region and its
/// download pool. The test decides when each neighbour answers, so the order in which an image hears its alias'
/// acknowledgement, a new download of itself and an export is exact.
/// </summary>
public sealed class ImageDeletionTests : Akka.TestKit.Xunit2.TestKit
{
    private const string Config = """
        akka.loglevel = WARNING
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        """;

    private static readonly ProjectName Default = ProjectName.Default;
    private static readonly AliasName Web = AliasName.Parse("web");

    // Far below the ask timeout a store would use: an answer that comes at all comes from the entity.
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(10);

    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("imageactors-deletion-");
    private readonly StoreMetrics _metrics = new(null, new NoGauges());
    private readonly ImageStoreContext _context;
    private readonly Akka.TestKit.TestProbe _aliases;
    private readonly Akka.TestKit.TestProbe _files;
    private readonly Akka.TestKit.TestProbe _downloads;

    public ImageDeletionTests()
        : base(Config)
    {
        _aliases = CreateTestProbe();
        _files = CreateTestProbe();
        _downloads = CreateTestProbe();
        _context = new ImageStoreContext(new BlobStore(_data.FullName, new BlobStoreOptions(Durable: false)), new ImageCatalog(), TimeProvider.System, TimeSpan.FromSeconds(60))
        {
            Waiters = Sys,
            LastUsedInterval = TimeSpan.FromMinutes(1),
            Metrics = _metrics,
            FilePool = ActorRefs.Nobody,
            DownloadPool = _downloads.Ref,
            ImageRegion = ActorRefs.Nobody,
            AliasRegion = _aliases.Ref,
            FilesRegion = _files.Ref,
            Feed = ActorRefs.Nobody,
        };
    }

    /// <summary>
    /// The appliance's stall: an eviction deleted a cached image and waited for its alias' acknowledgement; meanwhile a
    /// client fetched the image again and held it, then waited for an eviction pass, which waited for this deletion.
    /// The deletion waited for the new image's exports to close although its files stay (the new import claims them),
    /// so both sides waited until the pass's ask timed out.
    /// </summary>
    [Fact]
    public void An_eviction_is_answered_once_its_aliases_are_gone_even_if_the_image_was_fetched_again_and_is_held()
    {
        var image = Images.Record(Images.Fp("d0", "fetched-again"), cached: true);
        var entity = Sys.ActorOf(ImageActor.Props(Default, image.Fingerprint, _context));
        Fetch(entity, image);

        // The cache names the image by the alias it fetched it for; that alias follows the image and does not keep it.
        entity.Tell(new ImageProtocol.RecordCacheAlias(Web));
        ExpectMsg<ImageRecord>(Prompt);
        entity.Tell(new ImageProtocol.AttachAlias(Web));
        ExpectMsg<ImageRecord>(Prompt);

        var pass = CreateTestProbe();
        entity.Tell(new ImageProtocol.Evict(EvictionReason.OverQuota), pass.Ref);
        var deleteAlias = _aliases.ExpectMsg<ShardingEnvelope>(Prompt);
        Assert.IsType<AliasProtocol.DeleteIfTargets>(deleteAlias.Message);

        // Before the alias acknowledges, a client fetches the image again and holds it for an export.
        Fetch(entity, image);
        var holder = CreateTestProbe();
        entity.Tell(new ImageProtocol.OpenExport(), holder.Ref);
        holder.ExpectMsg<ImageProtocol.ExportLease>(Prompt);

        entity.Tell(new AliasProtocol.Done(), _aliases.Ref);

        // The deletion is over: the new import holds the files, so nothing is to be released and nothing waits for the export.
        Assert.Equal(image.Fingerprint, pass.ExpectMsg<ImageProtocol.Deleted>(Prompt).Fingerprint);
        Assert.False(_files.HasMessages);
        entity.Tell(new ImageProtocol.Get());
        Assert.Equal(image.Fingerprint, ExpectMsg<ImageRecord>(Prompt).Fingerprint);
    }

    /// <summary>
    /// A delete that waits for an export of the deleted image to close is answered when the image is fetched again:
    /// the new import claims the files, so they no longer go, and the exports of the new image must not hold the answer.
    /// </summary>
    [Fact]
    public void A_delete_waiting_for_an_export_is_answered_when_the_image_is_fetched_again()
    {
        var image = Images.Record(Images.Fp("d1", "deleted-while-read"), cached: true);
        var entity = Sys.ActorOf(ImageActor.Props(Default, image.Fingerprint, _context));
        Fetch(entity, image);
        var reader = CreateTestProbe();
        entity.Tell(new ImageProtocol.OpenExport(), reader.Ref);
        reader.ExpectMsg<ImageProtocol.ExportLease>(Prompt);

        var deleter = CreateTestProbe();
        entity.Tell(new ImageProtocol.Delete("deleted"), deleter.Ref);
        entity.Tell(new ImageProtocol.Get());
        ExpectMsg<Status.Failure>(Prompt);

        Fetch(entity, image);

        Assert.Equal(image.Fingerprint, deleter.ExpectMsg<ImageProtocol.Deleted>(Prompt).Fingerprint);
        Assert.False(_files.HasMessages);
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _metrics.Dispose();
        _data.Delete(recursive: true);
    }

    // Downloads the image through the entity, playing its files actor (the claim is granted) and its download pool.
    private void Fetch(IActorRef entity, ImageRecord image)
    {
        var client = CreateTestProbe();
        entity.Tell(new ImageProtocol.Download(new FetchTicket(Guid.NewGuid(), "the test upstream")), client.Ref);
        var claim = _files.ExpectMsg<ShardingEnvelope>(Prompt);
        Assert.IsType<ImageFilesActor.Claim>(claim.Message);
        entity.Tell(new ImageFilesActor.Claimed(image.Fingerprint), _files.Ref);
        _downloads.ExpectMsg<WorkerPool.Job>(Prompt);
        entity.Tell(new ImageProtocol.FilesCommitted(image), _downloads.Ref);
        Assert.Equal(image.Fingerprint, ((ImageRecord)client.FishForMessage(m => m is ImageRecord, Prompt)).Fingerprint);
    }
}
