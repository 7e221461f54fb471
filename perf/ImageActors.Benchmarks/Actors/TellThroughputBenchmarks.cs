using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using ImageActors.Actors;

namespace ImageActors.Benchmarks.Actors;

/// <summary>
/// One-way message throughput from one actor to another, against a raw unbounded
/// <see cref="Channel{T}"/> with one producer task and one consumer task (the baseline).
/// Budget: at least 0.5× the raw channel, 0 bytes allocated per message in steady state.
/// </summary>
[MemoryDiagnoser]
public class TellThroughputBenchmarks
{
    private const int Messages = 1_000_000;
    private static readonly object Message = new();

    private Channel<object> _channel = null!;
    private Task _channelConsumer = null!;
    private TaskCompletionSource _channelDone = null!;
    private int _channelCount;

    private ActorSystem _system = null!;
    private IActorRef _producer = null!;
    private Consumer.Signal _actorDone = null!;

    [GlobalSetup]
    public void Setup()
    {
        _channel = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        _channelConsumer = Task.Run(ConsumeChannelAsync);
        _system = ActorSystem.Create("bench");
        _actorDone = new Consumer.Signal();
        var consumer = _system.ActorOf(Props.Create(() => new Consumer(_actorDone, Messages)), "consumer");
        _producer = _system.ActorOf(Props.Create(() => new Producer(consumer, Messages)), "producer");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _channel.Writer.TryComplete();
        _channelConsumer.GetAwaiter().GetResult();
        _system.Terminate().GetAwaiter().GetResult();
    }

    private async Task ConsumeChannelAsync()
    {
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out _))
            {
                if (++_channelCount == Messages)
                {
                    _channelCount = 0;
                    _channelDone.SetResult();
                }
            }
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Messages, Description = "raw Channel<T> producer -> consumer")]
    public void RawChannel()
    {
        _channelDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = _channelDone.Task;
        var producer = Task.Run(() =>
        {
            var writer = _channel.Writer;
            for (var i = 0; i < Messages; i++)
            {
                writer.TryWrite(Message);
            }
        });
        producer.GetAwaiter().GetResult();
        done.GetAwaiter().GetResult();
    }

    [Benchmark(OperationsPerInvoke = Messages, Description = "actor Tell producer -> consumer")]
    public void ActorTell()
    {
        var done = _actorDone.Reset();
        _producer.Tell(Producer.Go.Instance);
        done.Wait();
    }

    private sealed class Producer : ReceiveActor
    {
        public sealed class Go
        {
            public static readonly Go Instance = new();
        }

        public Producer(IActorRef consumer, int messages) => Receive<Go>(_ =>
        {
            for (var i = 0; i < messages; i++)
            {
                consumer.Tell(Message, Self);
            }
        });
    }

    internal sealed class Consumer : ReceiveActor
    {
        private int _count;

        /// <summary>A reusable completion signal, so a benchmark iteration allocates nothing on the actors' side.</summary>
        public sealed class Signal
        {
            private readonly ManualResetEventSlim _event = new();

            public ManualResetEventSlim Reset()
            {
                _event.Reset();
                return _event;
            }

            public void Set() => _event.Set();
        }

        public Consumer(Signal done, int messages) => ReceiveAny(_ =>
        {
            if (++_count == messages)
            {
                _count = 0;
                done.Set();
            }
        });
    }
}
