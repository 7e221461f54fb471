using ImageActors.Actors.TestKit;

namespace ImageActors.Actors.Tests;

/// <summary>A fresh actor system per test (with an optional fake clock), terminated afterwards.</summary>
public abstract class ActorTest : IAsyncLifetime
{
    protected ActorTest(bool fakeClock = false, ActorSystemSettings? settings = null)
    {
        Clock = fakeClock ? new FakeClock() : null;
        var s = settings ?? ActorSystemSettings.Default;
        if (Clock is not null)
        {
            s = s with { Clock = Clock };
        }

        System = ActorSystem.Create("test", s);
    }

    protected ActorSystem System { get; }

    protected FakeClock? Clock { get; }

    protected static TimeSpan Timeout => TimeSpan.FromSeconds(10);

    protected TestProbe CreateProbe(string? name = null) => new(System, name);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await System.Terminate().WaitAsync(Timeout);
}
