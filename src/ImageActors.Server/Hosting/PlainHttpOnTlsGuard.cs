using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;

namespace ImageActors.Server.Hosting;

/// <summary>
/// Connection middleware in front of TLS: a connection whose first byte is not a TLS handshake
/// record gets <c>400 Bad Request</c> and is closed at once. The <c>lxc</c> client fetches
/// SimpleStreams files over plain HTTP on the HTTPS port first and falls back to HTTPS only when
/// that fails, so the failure has to be fast rather than a handshake timeout.
/// </summary>
public static class PlainHttpOnTlsGuard
{
    private const byte TlsHandshakeRecord = 0x16;

    private static readonly byte[] BadRequest = Encoding.ASCII.GetBytes(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 48\r\nConnection: close\r\n\r\n" +
        "Client sent an HTTP request to an HTTPS server.\n");

    /// <summary>Wraps the next connection handler.</summary>
    public static ConnectionDelegate Wrap(ConnectionDelegate next) => async connection =>
    {
        var input = connection.Transport.Input;
        ReadResult read;
        try
        {
            read = await input.ReadAsync(connection.ConnectionClosed);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        if (read.Buffer.IsEmpty)
        {
            input.AdvanceTo(read.Buffer.Start);
            return;
        }

        var first = read.Buffer.FirstSpan[0];

        // Look without consuming: TLS reads the same bytes next.
        input.AdvanceTo(read.Buffer.Start);
        if (first == TlsHandshakeRecord)
        {
            await next(connection);
            return;
        }

        try
        {
            await connection.Transport.Output.WriteAsync(BadRequest, connection.ConnectionClosed);
            await connection.Transport.Output.CompleteAsync();
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ConnectionResetException)
        {
            // The client went away first; nothing to tell it.
        }
    };
}
