using System.Text.Json.Nodes;
using ImageActors.Remotes.Incus;
using ImageActors.Server.Operations;

namespace ImageActors.Server.Api;

/// <summary>Maps a tracked operation onto the Incus operation object.</summary>
public static class OperationWire
{
    /// <summary>The operation as it is now, or in state <paramref name="at"/>.</summary>
    public static Operation From(TrackedOperation operation, OperationState? at = null)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var state = at ?? operation.State;
        var metadata = new JsonObject();
        foreach (var (key, value) in state.Metadata)
        {
            metadata[key] = value;
        }

        foreach (var (key, value) in state.Flags)
        {
            metadata[key] = value;
        }

        return new Operation
        {
            Id = operation.Id.ToString("D"),
            Class = OperationStatusText.Of(operation.Class),
            Description = operation.Description,
            CreatedAt = operation.CreatedAt,
            UpdatedAt = state.UpdatedAt,
            Status = OperationStatusText.Of(state.Status),
            StatusCode = (int)state.Status,
            Resources = operation.Resources.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)[.. kv.Value]),
            Metadata = metadata,
            MayCancel = operation.MayCancel,
            Err = state.Error,
            Location = "none",
        };
    }
}
