using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.TestKit;
using ImageActors.Images.Actors;
using ImageActors.Images.Domain;
using ImageActors.Images.Events;
using ImageActors.Images.ReadModel;
using ImageActors.Streaming.Storage;

namespace ImageActors.Images.Tests.Actors;

/// <summary>
/// The image and alias entities on Akka.Persistence.TestKit's journal, whose writes a test fails, rejects or slows.
/// The entities run on their own here (the store's read model reads Akka.Persistence.Sql's tables, which this journal
/// does not write): a test asks them directly, as their shard region would.
/// </summary>
public sealed class EntityJournalFaultTests : Akka.TestKit.Xunit2.TestKit
{
    private const string Config = """
        akka.loglevel = WARNING
        akka.persistence.journal.plugin = "akka.persistence.journal.test"
        akka.persistence.journal.test {
          class = "Akka.Persistence.TestKit.TestJournal, Akka.Persistence.TestKit"
          plugin-dispatcher = "akka.actor.default-dispatcher"
        }
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.test"
        akka.persistence.snapshot-store.test {
          class = "Akka.Persistence.TestKit.TestSnapshotStore, Akka.Persistence.TestKit"
          plugin-dispatcher = "akka.actor.default-dispatcher"
        }
        """;

    private static readonly ProjectName Default = ProjectName.Default;

    // Far below the ask timeout a store would use: an answer this fast is the failure itself, not a timeout.
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(10);

    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("imageactors-entity-faults-");
    private readonly ImageStoreContext _context;
    private readonly ITestJournal _journal;

    public EntityJournalFaultTests()
        : base(Config)
    {
        _context = new ImageStoreContext(new BlobStore(_data.FullName, new BlobStoreOptions(Durable: false)), new ImageCatalog(), TimeProvider.System, TimeSpan.FromSeconds(60))
        {
            Waiters = Sys,
            LastUsedInterval = TimeSpan.FromMinutes(1),
            FilePool = ActorRefs.Nobody,
            DownloadPool = ActorRefs.Nobody,
            ImageRegion = ActorRefs.Nobody,
            AliasRegion = ActorRefs.Nobody,
            FilesRegion = ActorRefs.Nobody,
            Feed = ActorRefs.Nobody,
        };
        _journal = TestJournal.FromRef(Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null));
    }

    [Fact]
    public async Task A_write_the_journal_fails_is_answered_at_once_with_a_typed_error_and_a_fresh_entity_then_succeeds()
    {
        var image = StoredImage("fails");
        Seed(ImageJournal.ImagePersistenceId(Default, image.Fingerprint), new ImageDownloadStarted(Default, image.Fingerprint, Images.Epoch, null), new ImageStored(image));
        var entity = Sys.ActorOf(ImageActor.Props(Default, image.Fingerprint, _context));
        Watch(entity);

        await _journal.OnWrite.Fail();
        entity.Tell(Update("Changed"));
        var failure = ExpectMsg<Status.Failure>(Prompt);
        var error = Assert.IsType<JournalWriteFailedException>(failure.Cause);
        Assert.Equal(nameof(ImageUpdated), error.Change);

        // The entity stops (its shard starts a fresh one for the next message); the fresh one recovers the image unchanged.
        ExpectTerminated(entity, Prompt);
        await _journal.OnWrite.Pass();
        var fresh = Sys.ActorOf(ImageActor.Props(Default, image.Fingerprint, _context));
        fresh.Tell(new ImageProtocol.Get());
        Assert.False(ExpectMsg<ImageRecord>(Prompt).Properties.ContainsKey("os"));

        fresh.Tell(Update("Changed"));
        Assert.Equal("Changed", ExpectMsg<ImageRecord>(Prompt).Properties["os"]);
    }

    [Fact]
    public async Task A_request_to_an_image_the_journal_cannot_load_is_answered_at_once_naming_the_journal()
    {
        // Before, the entity stopped on its failed recovery and the request went to dead letters: its sender waited
        // out its whole bound (a serve on a stopped PostgreSQL: "made no progress for 180 s").
        Sys.ActorOf(UnansweredRequests.Props());
        var image = StoredImage("unreadable");
        Seed(ImageJournal.ImagePersistenceId(Default, image.Fingerprint), new ImageDownloadStarted(Default, image.Fingerprint, Images.Epoch, null), new ImageStored(image));

        await _journal.OnRecovery.Fail();
        var entity = Sys.ActorOf(ImageActor.Props(Default, image.Fingerprint, _context));
        entity.Tell(new ImageProtocol.Get());

        var error = Assert.IsType<JournalReadFailedException>(ExpectMsg<Status.Failure>(Prompt).Cause);
        Assert.Contains(image.Fingerprint.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains("journal", error.Message, StringComparison.Ordinal);

        // Once the journal reads again, a fresh entity answers.
        await _journal.OnRecovery.Pass();
        var fresh = Sys.ActorOf(ImageActor.Props(Default, image.Fingerprint, _context));
        fresh.Tell(new ImageProtocol.Get());
        Assert.Equal(image.Fingerprint, ExpectMsg<ImageRecord>(Prompt).Fingerprint);
    }

    [Fact]
    public async Task A_request_queued_behind_a_failed_write_is_answered_when_the_entity_stops()
    {
        Sys.ActorOf(UnansweredRequests.Props());
        var image = StoredImage("queued");
        Seed(ImageJournal.ImagePersistenceId(Default, image.Fingerprint), new ImageDownloadStarted(Default, image.Fingerprint, Images.Epoch, null), new ImageStored(image));
        var entity = Sys.ActorOf(ImageActor.Props(Default, image.Fingerprint, _context));
        entity.Tell(new ImageProtocol.Get());
        ExpectMsg<ImageRecord>(Prompt);

        // The Get waits behind the write (Persist stashes it); the write fails and the entity stops with it stashed.
        await _journal.OnWrite.Fail();
        entity.Tell(Update("Changed"));
        entity.Tell(new ImageProtocol.Get());

        Assert.IsType<JournalWriteFailedException>(ExpectMsg<Status.Failure>(Prompt).Cause);
        var stopped = Assert.IsType<EntityStoppedException>(ExpectMsg<Status.Failure>(Prompt).Cause);
        Assert.Contains(nameof(ImageProtocol.Get), stopped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_write_the_journal_rejects_is_answered_at_once_with_a_typed_error_and_the_entity_keeps_running()
    {
        var image = StoredImage("rejects");
        Seed(ImageJournal.ImagePersistenceId(Default, image.Fingerprint), new ImageDownloadStarted(Default, image.Fingerprint, Images.Epoch, null), new ImageStored(image));
        var entity = Sys.ActorOf(ImageActor.Props(Default, image.Fingerprint, _context));

        await _journal.OnWrite.Reject();
        entity.Tell(Update("Rejected"));
        var error = Assert.IsType<JournalWriteRejectedException>(ExpectMsg<Status.Failure>(Prompt).Cause);
        Assert.Contains(image.Fingerprint.ToString(), error.Message, StringComparison.Ordinal);

        // The same entity answers the next request, and the refused change never happened.
        await _journal.OnWrite.Pass();
        entity.Tell(new ImageProtocol.Get());
        Assert.False(ExpectMsg<ImageRecord>(Prompt).Properties.ContainsKey("os"));
        entity.Tell(Update("Accepted"));
        Assert.Equal("Accepted", ExpectMsg<ImageRecord>(Prompt).Properties["os"]);
    }

    [Fact]
    public async Task An_alias_change_the_journal_rejects_is_answered_at_once_with_a_typed_error_and_the_alias_stays()
    {
        var image = StoredImage("alias-rejects");
        var name = AliasName.Parse("web");
        Seed(ImageJournal.AliasPersistenceId(Default, name), new AliasCreated(Default, name, image.Fingerprint, "front", ImageType.Container));
        var alias = Sys.ActorOf(AliasActor.Props(Default, name, _context));

        await _journal.OnWrite.Reject();
        alias.Tell(new AliasProtocol.Delete());
        var error = Assert.IsType<JournalWriteRejectedException>(ExpectMsg<Status.Failure>(Prompt).Cause);
        Assert.Contains("alias web", error.Message, StringComparison.Ordinal);

        await _journal.OnWrite.Pass();
        alias.Tell(new AliasProtocol.Get());
        Assert.Equal(image.Fingerprint, ExpectMsg<AliasRecord>(Prompt).Target);
        alias.Tell(new AliasProtocol.Delete());
        ExpectMsg<AliasProtocol.Done>(Prompt);
    }

    [Fact]
    public async Task Requests_to_one_image_on_a_slow_journal_are_answered_in_the_order_they_were_sent()
    {
        var image = StoredImage("slow");
        Seed(ImageJournal.ImagePersistenceId(Default, image.Fingerprint), new ImageDownloadStarted(Default, image.Fingerprint, Images.Epoch, null), new ImageStored(image));
        var entity = Sys.ActorOf(ImageActor.Props(Default, image.Fingerprint, _context));

        await _journal.OnWrite.PassWithDelay(TimeSpan.FromMilliseconds(200));
        var senders = Enumerable.Range(0, 5).Select(_ => CreateTestProbe()).ToList();
        for (var i = 0; i < senders.Count; i++)
        {
            entity.Tell(Update($"v{i}"), senders[i].Ref);
        }

        // Each requester gets the record as its own write left it: the writes were applied one after the other, in order.
        for (var i = 0; i < senders.Count; i++)
        {
            Assert.Equal($"v{i}", senders[i].ExpectMsg<ImageRecord>(Prompt).Properties["os"]);
        }

        await _journal.OnWrite.Pass();
        entity.Tell(new ImageProtocol.Get());
        Assert.Equal($"v{senders.Count - 1}", ExpectMsg<ImageRecord>(Prompt).Properties["os"]);
    }

    [Fact]
    public async Task Concurrent_downloads_of_one_image_on_a_slow_journal_fetch_it_once_and_all_get_the_record()
    {
        var image = StoredImage("single-flight");
        var fetches = 0;
        var fetch = new ImageFetch(
            (_, _) =>
            {
                Interlocked.Increment(ref fetches);
                return Task.FromResult((new StoredImage(image.Fingerprint, "metadata", null, image.Size), image));
            },
            "the test upstream");
        _context.DownloadPool = Sys.ActorOf(WorkerPool.Props(2));
        _context.FilesRegion = Sys.ActorOf(Props.Create(() => new ClaimsGranted()));
        var entity = Sys.ActorOf(ImageActor.Props(Default, image.Fingerprint, _context));

        // Each write takes a while: requests arriving during the import's first write wait behind it, then join it.
        await _journal.OnWrite.PassWithDelay(TimeSpan.FromMilliseconds(300));
        var requesters = Enumerable.Range(0, 4).Select(_ => CreateTestProbe()).ToList();
        var leases = requesters.Select(_ => _context.Fetches.Add(fetch)).ToList();
        for (var i = 0; i < requesters.Count; i++)
        {
            entity.Tell(new ImageProtocol.Download(leases[i].Ticket), requesters[i].Ref);
        }

        foreach (var requester in requesters)
        {
            var record = (ImageRecord)requester.FishForMessage(m => m is ImageRecord, Prompt);
            Assert.Equal(image.Fingerprint, record.Fingerprint);
        }

        Assert.Equal(1, Volatile.Read(ref fetches));
        foreach (var lease in leases)
        {
            lease.Dispose();
        }
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _data.Delete(recursive: true);
    }

    private static ImageProtocol.Update Update(string os) =>
        new(new ImagePut(false, false, new Dictionary<string, string> { ["os"] = os }));

    private static ImageRecord StoredImage(string seed) => Images.Record(Images.Fp("c0", seed)) with
    {
        Properties = ImmutableSortedDictionary<string, string>.Empty,
    };

    // Writes an entity's history to the journal, as an earlier incarnation of it would have.
    private void Seed(string persistenceId, params object[] events)
    {
        var seeder = Sys.ActorOf(Props.Create(() => new Seeder(persistenceId, events)));
        seeder.Tell(Seeder.Write.Instance);
        ExpectMsg<Seeder.Written>(Prompt);
        Sys.Stop(seeder);
    }

    // The fingerprint's files actor, granting every claim at once (nobody else holds the files here).
    private sealed class ClaimsGranted : ReceiveActor
    {
        public ClaimsGranted() =>
            Receive<Akka.Cluster.Sharding.ShardingEnvelope>(e => e.Message is ImageFilesActor.Claim, e =>
                Sender.Tell(new ImageFilesActor.Claimed(Streaming.Fingerprint.Parse(e.EntityId))));
    }

    private sealed class Seeder : ReceivePersistentActor
    {
        public Seeder(string persistenceId, object[] events)
        {
            PersistenceId = persistenceId;
            Command<Write>(_ =>
            {
                var sender = Sender;
                PersistAll(events, _ => { });
                DeferAsync(Written.Instance, w => sender.Tell(w));
            });
        }

        public override string PersistenceId { get; }

        public sealed class Write
        {
            public static readonly Write Instance = new();
        }

        public sealed class Written
        {
            public static readonly Written Instance = new();
        }
    }
}
