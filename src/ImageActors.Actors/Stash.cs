namespace ImageActors.Actors;

/// <summary>Messages put aside to be handled later, in the order they arrived.</summary>
public interface IStash
{
    /// <summary>Puts the current message (with its sender) aside.</summary>
    void Stash();

    /// <summary>Puts every stashed message back in front of the mailbox, oldest first.</summary>
    void UnstashAll();

    /// <summary>Puts the oldest stashed message back in front of the mailbox.</summary>
    void Unstash();

    /// <summary>How many messages are stashed.</summary>
    int Count { get; }

    /// <summary>Drops the stashed messages (to dead letters).</summary>
    void Clear();
}

/// <summary>
/// Implemented by actors that stash: the kernel assigns <see cref="Stash"/> before the constructor's
/// handlers run. Stashed messages survive a restart (they are put back in the mailbox).
/// </summary>
public interface IWithStash
{
    /// <summary>The actor's stash, set by the kernel.</summary>
    IStash Stash { get; set; }
}

/// <summary>The stash of one actor, kept by its cell.</summary>
internal sealed class ActorStash(ActorCell cell) : IStash
{
    private readonly List<Envelope> _stashed = [];

    public int Count => _stashed.Count;

    public void Stash()
    {
        var current = cell.CurrentEnvelope;
        if (current.Message is null)
        {
            throw new InvalidOperationException("There is no current message to stash.");
        }

        _stashed.Add(current);
    }

    public void UnstashAll()
    {
        cell.Prepend(_stashed);
        _stashed.Clear();
    }

    public void Unstash()
    {
        if (_stashed.Count == 0)
        {
            return;
        }

        cell.Prepend([_stashed[0]]);
        _stashed.RemoveAt(0);
    }

    public void Clear()
    {
        foreach (var e in _stashed)
        {
            cell.System.PublishDeadLetter(e.Message, e.Sender, cell);
        }

        _stashed.Clear();
    }
}
