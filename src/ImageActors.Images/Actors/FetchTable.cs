using System.Collections.Concurrent;

namespace ImageActors.Images.Actors;

/// <summary>
/// The downloads requested on this node, by ticket: a download carries the requester's remote client and progress,
/// which are not data, so the message to the image's actor names it by <see cref="FetchTicket"/> and the download
/// worker takes it from here. A ticket stays until its requester stops waiting.
/// </summary>
internal sealed class FetchTable
{
    private readonly ConcurrentDictionary<Guid, ImageFetch> _fetches = new();

    /// <summary>Registers <paramref name="fetch"/>; dispose the lease when the requester stops waiting.</summary>
    public Lease Add(ImageFetch fetch)
    {
        var ticket = new FetchTicket(Guid.NewGuid(), fetch.Description);
        _fetches[ticket.Id] = fetch;
        return new Lease(this, ticket);
    }

    /// <summary>The download a ticket names, or null when its requester stopped waiting before it started.</summary>
    public ImageFetch? Find(FetchTicket ticket) => _fetches.GetValueOrDefault(ticket.Id);

    /// <summary>A registered download; disposing it removes it.</summary>
    public sealed class Lease(FetchTable table, FetchTicket ticket) : IDisposable
    {
        public FetchTicket Ticket { get; } = ticket;

        public void Dispose() => table._fetches.TryRemove(Ticket.Id, out _);
    }
}
