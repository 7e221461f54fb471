using BenchmarkDotNet.Attributes;
using ImageActors.Actors;
using ImageActors.Actors.Sharding;

namespace ImageActors.Benchmarks.Actors;

/// <summary>
/// Routing through an <see cref="EntityRegion"/> holding 100,000 live entities, against telling
/// the same entities directly through their references (the baseline: the cost of the region).
/// </summary>
[MemoryDiagnoser]
public class EntityRegionBenchmarks
{
    private const int Entities = 100_000;
    private static readonly object Ping = new();

    private ActorSystem _system = null!;
    private IActorRef _region = null!;
    private EntityEnvelope[] _envelopes = null!;
    private IActorRef[] _entities = null!;
    private readonly Counter _counter = new();

    [GlobalSetup]
    public void Setup()
    {
        _system = ActorSystem.Create("bench");
        _region = _system.ActorOf(EntityRegion.Props(_ => Props.Create(() => new Entity(_counter)), EnvelopeMessageExtractor.Instance), "entities");
        _envelopes = new EntityEnvelope[Entities];
        _entities = new IActorRef[Entities];
        var asks = new Task<IActorRef>[Entities];
        for (var i = 0; i < Entities; i++)
        {
            _envelopes[i] = new EntityEnvelope("e" + i, Ping);
            asks[i] = _region.Ask<IActorRef>(new EntityEnvelope("e" + i, Entity.WhoAreYou.Instance), TimeSpan.FromMinutes(5));
        }

        _entities = Task.WhenAll(asks).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => _system.Terminate().GetAwaiter().GetResult();

    [Benchmark(Baseline = true, OperationsPerInvoke = Entities, Description = "Tell each of 100k entities directly")]
    public void Direct()
    {
        var done = _counter.Reset(Entities);
        foreach (var entity in _entities)
        {
            entity.Tell(Ping);
        }

        done.Wait();
    }

    [Benchmark(OperationsPerInvoke = Entities, Description = "Tell each of 100k entities through the region")]
    public void ThroughRegion()
    {
        var done = _counter.Reset(Entities);
        foreach (var envelope in _envelopes)
        {
            _region.Tell(envelope);
        }

        done.Wait();
    }

    private sealed class Counter
    {
        private readonly ManualResetEventSlim _done = new();
        private int _left;

        public ManualResetEventSlim Reset(int expected)
        {
            _done.Reset();
            Volatile.Write(ref _left, expected);
            return _done;
        }

        public void Hit()
        {
            if (Interlocked.Decrement(ref _left) == 0)
            {
                _done.Set();
            }
        }
    }

    private sealed class Entity : ReceiveActor
    {
        public sealed class WhoAreYou
        {
            public static readonly WhoAreYou Instance = new();
        }

        public Entity(Counter counter)
        {
            Receive<WhoAreYou>(_ => Sender.Tell(Self));
            ReceiveAny(_ => counter.Hit());
        }
    }
}
