using BenchmarkDotNet.Attributes;
using ImageActors.Actors;
using ImageActors.Actors.Persistence;

namespace ImageActors.Benchmarks.Actors;

/// <summary>
/// Events per second of a persistent actor on the in-memory journal (each command persists one
/// event and waits for it), against writing the same events to the journal directly (the baseline).
/// </summary>
[MemoryDiagnoser]
public class PersistentActorBenchmarks
{
    private const int Events = 10_000;

    private ActorSystem _system = null!;
    private IActorRef _actor = null!;
    private InMemoryJournal _journal = null!;
    private long _directSequenceNr;

    [GlobalSetup]
    public void Setup()
    {
        _journal = new InMemoryJournal();
        _system = ActorSystem.Create("bench", new ActorSystemSettings { Persistence = new PersistenceSettings { Journal = new InMemoryJournal() } });
        _actor = _system.ActorOf(Props.Create(() => new Counter("counter")), "counter");

        // Recovery (of an empty history) finishes before the first measured command.
        _actor.Ask<long>(Counter.Get.Instance, TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => _system.Terminate().GetAwaiter().GetResult();

    [Benchmark(Baseline = true, OperationsPerInvoke = Events, Description = "IJournal.WriteAsync directly")]
    public async Task JournalDirect()
    {
        for (var i = 0; i < Events; i++)
        {
            _directSequenceNr++;
            await _journal.WriteAsync(new AtomicWrite("direct", [new PersistentRepresentation("direct", _directSequenceNr, Counter.Incremented.Instance, "w", default, [])]));
        }
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "PersistentActor Persist per command")]
    public async Task PersistentActor()
    {
        for (var i = 0; i < Events - 1; i++)
        {
            _actor.Tell(Counter.Increment.Instance);
        }

        await _actor.Ask<long>(Counter.IncrementAndReply.Instance, TimeSpan.FromSeconds(60));
    }

    private sealed class Counter : ImageActors.Actors.Persistence.PersistentActor
    {
        private readonly string _id;
        private long _value;

        public sealed class Increment
        {
            public static readonly Increment Instance = new();
        }

        public sealed class IncrementAndReply
        {
            public static readonly IncrementAndReply Instance = new();
        }

        public sealed class Incremented
        {
            public static readonly Incremented Instance = new();
        }

        public sealed class Get
        {
            public static readonly Get Instance = new();
        }

        public Counter(string id)
        {
            _id = id;
            Recover<Incremented>(_ => _value++);
            Command<Increment>(_ => Persist(Incremented.Instance, _ => _value++));
            Command<IncrementAndReply>(_ => Persist(Incremented.Instance, _ =>
            {
                _value++;
                Sender.Tell(_value);
            }));
            Command<Get>(_ => Sender.Tell(_value));
        }

        public override string PersistenceId => _id;
    }
}
