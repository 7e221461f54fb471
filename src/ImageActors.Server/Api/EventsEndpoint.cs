using System.Net.WebSockets;
using System.Text.Json;
using ImageActors.Server.Events;
using ImageActors.Server.Operations;

namespace ImageActors.Server.Api;

/// <summary><c>/1.0/events</c>: a websocket streaming lifecycle and operation events as JSON text messages.</summary>
public static class EventsEndpoint
{
    /// <summary>Maps the events route.</summary>
    public static void Map(IEndpointRouteBuilder routes) => routes.MapGet("/1.0/events", HandleAsync);

    /// <summary>Writes one event as Incus' event object.</summary>
    public static void Write(Utf8JsonWriter writer, ServerEvent serverEvent)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(serverEvent);
        writer.WriteStartObject();
        writer.WriteString("type", serverEvent.Type);
        writer.WriteString("timestamp", serverEvent.Timestamp.UtcDateTime);
        writer.WritePropertyName("metadata");
        switch (serverEvent.Payload)
        {
            case OperationSnapshot snapshot:
                OperationJson.Write(writer, snapshot.Operation, snapshot.State);
                break;
            case ReadOnlyMemory<byte> json:
                writer.WriteRawValue(json.Span, skipInputValidation: true);
                break;
            case byte[] json:
                writer.WriteRawValue(json, skipInputValidation: true);
                break;
            default:
                writer.WriteNullValue();
                break;
        }

        writer.WriteString("location", "none");
        writer.WriteString("project", serverEvent.Project);
        writer.WriteEndObject();
    }

    private static async Task HandleAsync(HttpContext context, EventHub hub)
    {
        if (!context.IsTrusted())
        {
            await ApiErrors.Forbidden().ExecuteAsync(context);
            return;
        }

        if (!context.WebSockets.IsWebSocketRequest)
        {
            await IncusResponse.Error(StatusCodes.Status400BadRequest, "This endpoint needs a websocket upgrade").ExecuteAsync(context);
            return;
        }

        var types = context.Request.Query["type"].ToString()
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        using var subscription = hub.Subscribe(types);
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        _ = WatchForCloseAsync(socket, stop);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        try
        {
            while (await subscription.Reader.WaitToReadAsync(stop.Token))
            {
                while (subscription.Reader.TryRead(out var serverEvent))
                {
                    buffer.ResetWrittenCount();
                    await using (var writer = new Utf8JsonWriter(buffer))
                    {
                        Write(writer, serverEvent);
                    }

                    await socket.SendAsync(buffer.WrittenMemory, WebSocketMessageType.Text, true, stop.Token);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // The listener went away.
        }
    }

    // Listeners send nothing; reading is how a close (or a dead connection) is noticed, which
    // then ends the send loop.
    private static async Task WatchForCloseAsync(WebSocket socket, CancellationTokenSource stop)
    {
        var scratch = new byte[256];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var received = await socket.ReceiveAsync(scratch, stop.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // Closed underneath us.
        }

        try
        {
            await stop.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // The send loop ended first.
        }
    }
}
