using System.Text.Json;
using ImageActors.Server.Operations;

namespace ImageActors.Server.Api;

/// <summary>Writes an operation object (spec §2.1).</summary>
public static class OperationJson
{
    /// <summary>Writes <paramref name="operation"/> (as it is now, or in state <paramref name="at"/>) as Incus' operation object.</summary>
    public static void Write(Utf8JsonWriter writer, TrackedOperation operation, OperationState? at = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(operation);
        var state = at ?? operation.State;
        writer.WriteStartObject();
        writer.WriteString("id", operation.Id.ToString("D"));
        writer.WriteString("class", OperationStatusText.Of(operation.Class));
        writer.WriteString("description", operation.Description);
        writer.WriteString("created_at", operation.CreatedAt.UtcDateTime);
        writer.WriteString("updated_at", state.UpdatedAt.UtcDateTime);
        writer.WriteString("status", OperationStatusText.Of(state.Status));
        writer.WriteNumber("status_code", (int)state.Status);
        writer.WriteStartObject("resources");
        foreach (var (kind, urls) in operation.Resources)
        {
            writer.WriteStartArray(kind);
            foreach (var url in urls)
            {
                writer.WriteStringValue(url);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
        writer.WriteStartObject("metadata");
        foreach (var (key, value) in state.Metadata)
        {
            writer.WriteString(key, value);
        }

        writer.WriteEndObject();
        writer.WriteBoolean("may_cancel", operation.MayCancel);
        writer.WriteString("err", state.Error);
        writer.WriteString("location", "none");
        writer.WriteEndObject();
    }
}
