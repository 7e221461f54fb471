namespace ImageActors.Actors.Persistence;

public abstract partial class PersistentActor
{
    /// <summary>Recovery runs before the first command; the mailbox waits for it.</summary>
    internal sealed override Task? AfterStart() => RecoverAsync();

    private async Task RecoverAsync()
    {
        var persistence = Context.System.Persistence;
        var recovery = Recovery;
        object? current = null;
        await persistence.RecoveryPermits.WaitAsync().ConfigureAwait(false);
        try
        {
            var from = 1L;
            var snapshot = await SnapshotStore.LoadAsync(PersistenceId, recovery.FromSnapshot).ConfigureAwait(false);
            if (snapshot is not null)
            {
                LastSequenceNr = snapshot.Metadata.SequenceNr;
                from = LastSequenceNr + 1;
                current = snapshot;
                ApplyRecovery(new SnapshotOffer(snapshot.Metadata, snapshot.Snapshot));
            }

            if (recovery.ToSequenceNr >= from && recovery.ReplayMax > 0)
            {
                await foreach (var e in Journal.ReplayAsync(PersistenceId, from, recovery.ToSequenceNr, recovery.ReplayMax).ConfigureAwait(false))
                {
                    current = e.Payload;
                    LastSequenceNr = e.SequenceNr;
                    ApplyRecovery(e.Payload);
                }
            }

            current = null;
            var highest = await Journal.ReadHighestSequenceNrAsync(PersistenceId, from).ConfigureAwait(false);
            LastSequenceNr = Math.Max(LastSequenceNr, highest);
            _writtenSequenceNr = LastSequenceNr;
        }
        catch (Exception ex)
        {
            OnRecoveryFailure(ex, current);
            Context.Stop(Self);
            return;
        }
        finally
        {
            persistence.RecoveryPermits.Release();
        }

        _recovering = false;
        ApplyRecovery(RecoveryCompleted.Instance);
        var flush = Flush();
        if (flush is not null)
        {
            await flush.ConfigureAwait(false);
        }
    }

    private void ApplyRecovery(object message) => _recovery.TryInvoke(message, out _);
}
