using System.Globalization;
using ImageActors.Images.Hosting;

namespace ImageActors.Images.Tests.Store;

public sealed class DataDirectoryOwnerTests
{
    [Fact]
    public async Task A_second_store_on_an_owned_data_directory_is_refused_naming_the_owner_and_sweeps_nothing()
    {
        await using var fixture = await StoreFixture.StartAsync();
        var inFlight = Path.Combine(fixture.Data, "tmp", "20261207000000-inflight.part");
        await File.WriteAllTextAsync(inFlight, "bytes of an import under way");

        var refused = await Assert.ThrowsAsync<DataDirectoryInUseException>(() => ImageStore.StartAsync(fixture.Settings()));

        Assert.Equal(Environment.ProcessId, refused.OwnerProcessId);
        Assert.Contains(fixture.Data, refused.Message, StringComparison.Ordinal);
        Assert.Contains("process " + Environment.ProcessId.ToString(CultureInfo.InvariantCulture), refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Message);
        Assert.True(File.Exists(inFlight), "the refused store swept the owner's temp file");
    }

    [Fact]
    public async Task The_lock_file_names_the_owner_and_the_socket_it_announces()
    {
        await using var fixture = await StoreFixture.StartAsync();
        var socket = Path.Combine(fixture.Data, "unix.socket");

        fixture.Store.DirectoryLock.AnnounceSocket(socket);
        var refused = Assert.Throws<DataDirectoryInUseException>(() => DataDirectoryLock.Acquire(fixture.Data));

        Assert.Equal(socket, refused.OwnerSocket);
        Assert.Equal(Environment.ProcessId, refused.OwnerProcessId);
    }

    [Fact]
    public async Task The_announced_socket_is_read_without_taking_the_directory_and_stays_named_after_its_owner_stopped()
    {
        await using var fixture = await StoreFixture.StartAsync();
        var socket = Path.Combine(fixture.Data, "unix.socket");
        Assert.Null(DataDirectoryLock.ReadAnnouncedSocket(fixture.Data));

        fixture.Store.DirectoryLock.AnnounceSocket(socket);
        var whileOwned = DataDirectoryLock.ReadAnnouncedSocket(fixture.Data);
        await fixture.Store.DisposeAsync();
        var afterwards = DataDirectoryLock.ReadAnnouncedSocket(fixture.Data);

        Assert.Equal(socket, whileOwned);
        // The line outlives its owner: a reader connects to learn whether anyone still answers there.
        Assert.Equal(socket, afterwards);
        Assert.Null(DataDirectoryLock.ReadAnnouncedSocket(Path.Combine(fixture.Data, "never-created")));
        await fixture.RestartAsync();
    }

    [Fact]
    public async Task A_stopped_store_leaves_its_data_directory_to_the_next()
    {
        await using var fixture = await StoreFixture.StartAsync();
        await fixture.Store.DisposeAsync();

        using var next = DataDirectoryLock.Acquire(fixture.Data);

        Assert.Equal(Path.GetFullPath(fixture.Data), next.DataDirectory);
        next.Dispose();
        await fixture.RestartAsync();
    }
}
