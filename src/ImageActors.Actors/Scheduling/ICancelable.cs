namespace ImageActors.Actors.Scheduling;

/// <summary>A scheduled delivery that can be cancelled.</summary>
public interface ICancelable
{
    /// <summary>Whether <see cref="Cancel"/> was called.</summary>
    bool IsCancellationRequested { get; }

    /// <summary>Stops further deliveries; idempotent.</summary>
    void Cancel();
}
