using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json;

namespace ImageActors.Cli;

/// <summary>
/// Turns a failure no command handled into the one line the user sees: what happened, and what to do. The
/// exception itself (type and stack) is for <c>--debug</c>.
/// </summary>
public static class CliFailure
{
    /// <summary>One line for <paramref name="exception"/>, without its type or stack.</summary>
    public static string Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var text = exception switch
        {
            TaskCanceledException { InnerException: TimeoutException timeout } =>
                $"The server did not answer in time ({timeout.Message.TrimEnd('.')}); check that it is running and not overloaded, then run the command again",
            OperationCanceledException => "The command was cancelled before it finished; run it again to complete it",
            HttpRequestException { InnerException: AuthenticationException } e =>
                $"The TLS connection to the server failed ({Innermost(e)}); check the remote's certificate (remote add --accept-certificate or --certificate) and run the command again",
            HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } e =>
                $"Could not connect to the server ({Innermost(e)}); check that it is running and reachable, then run the command again",
            HttpRequestException e =>
                $"The connection to the server broke before the command finished ({Innermost(e)}); check that the server is still running (its log says why it stopped) and run the command again",
            HttpIOException e =>
                $"The connection to the server broke before the command finished ({Innermost(e)}); check that the server is still running (its log says why it stopped) and run the command again",
            SocketException e =>
                $"A network connection failed ({e.Message}); check that the server is running and reachable, then run the command again",
            JsonException e =>
                $"The server's answer could not be read ({e.Message.TrimEnd('.')}); check that the address is an ImageActors, Incus or LXD server and run the command again",
            UnauthorizedAccessException e =>
                $"{e.Message.TrimEnd('.')}; run the command as a user that may read and write there",
            ImageActors.Images.Hosting.DataDirectoryInUseException e => e.Message,
            ImageActors.Persistence.JournalUnavailableException e => e.Message,
            IOException e when ImageActors.Streaming.Storage.InsufficientStorageException.IsDiskFull(e) =>
                $"{e.Message.TrimEnd('.')}; free space on that disk (or choose another place), then run the command again",
            IOException e => $"{e.Message.TrimEnd('.')}; check the file or folder it names, then run the command again",
            _ => $"{exception.Message.TrimEnd('.')} (an unexpected {exception.GetType().Name}); run the command again with --debug for the details",
        };

        return OneLine(text);
    }

    // The innermost message names the cause ("Broken pipe", "Connection refused"), the outer ones the step.
    private static string Innermost(Exception exception)
    {
        var inner = exception;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        return ReferenceEquals(inner, exception) ? exception.Message.TrimEnd('.') : $"{exception.Message.TrimEnd('.')}: {inner.Message.TrimEnd('.')}";
    }

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
