using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using ImageActors.Actors;

namespace ImageActors.Benchmarks.Actors;

/// <summary>
/// Request/response round trip: <c>Ask</c> of an echo actor, against a raw channel whose consumer
/// completes a <see cref="TaskCompletionSource{T}"/> per request (the baseline).
/// </summary>
[MemoryDiagnoser]
public class AskLatencyBenchmarks
{
    private static readonly object Message = new();
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private Channel<TaskCompletionSource<object>> _requests = null!;
    private Task _responder = null!;
    private ActorSystem _system = null!;
    private IActorRef _echo = null!;

    [GlobalSetup]
    public void Setup()
    {
        _requests = Channel.CreateUnbounded<TaskCompletionSource<object>>(new UnboundedChannelOptions { SingleReader = true });
        _responder = Task.Run(async () =>
        {
            await foreach (var request in _requests.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                request.SetResult(Message);
            }
        });
        _system = ActorSystem.Create("bench");
        _echo = _system.ActorOf(Props.Create(() => new Echo()), "echo");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _requests.Writer.TryComplete();
        _responder.GetAwaiter().GetResult();
        _system.Terminate().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, Description = "raw channel + TaskCompletionSource round trip")]
    public async Task<object> RawChannelRoundTrip()
    {
        var request = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        _requests.Writer.TryWrite(request);
        return await request.Task.ConfigureAwait(false);
    }

    [Benchmark(Description = "Ask round trip")]
    public Task<object> AskRoundTrip() => _echo.Ask<object>(Message, Timeout);

    private sealed class Echo : ReceiveActor
    {
        public Echo() => ReceiveAny(m => Sender.Tell(m, Self));
    }
}
