using System.Text.Json;
using ImageActors.Images.Domain;
using ImageActors.Images.Remote;

namespace ImageActors.Server.Api;

/// <summary>
/// Turns the typed errors a user can cause into Incus error envelopes with their status codes
/// (not found 404, exists 409, invalid input 400, ambiguous prefix 500 as Incus answers).
/// </summary>
public static class ApiErrorTranslation
{
    /// <summary>The middleware.</summary>
    public static async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        try
        {
            await next(context);
        }
        catch (Exception e) when (!context.Response.HasStarted && Translate(e) is { } result)
        {
            context.Response.Clear();
            await result.ExecuteAsync(context);
        }
    }

    /// <summary>The error answer for <paramref name="exception"/>, or null when it is not a user error.</summary>
    public static IResult? Translate(Exception exception) => exception switch
    {
        ImageStoreException e => ApiResults.Error(e.StatusCode, e.Message),
        ImageCopyException e => ApiResults.Error(CopyStatus(e), e.Message),
        JsonException e => ApiResults.Error(StatusCodes.Status400BadRequest, "Invalid JSON: " + e.Message),
        FormatException e => ApiResults.Error(StatusCodes.Status400BadRequest, e.Message),
        InvalidDataException e => ApiResults.Error(StatusCodes.Status400BadRequest, e.Message),
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } e => ApiResults.Error(
            e.StatusCode, $"{e.Message.TrimEnd('.')} (server.max_request_body_size); only an image upload (POST /1.0/images with the image as its body) may be larger"),
        BadHttpRequestException e => ApiResults.Error(e.StatusCode, e.Message),
        NotSupportedException e => ApiResults.Error(StatusCodes.Status501NotImplemented, e.Message),
        _ => null,
    };

    /// <summary>The status of a failed copy: not found when the source does not have the image, else a server error.</summary>
    public static int CopyStatus(ImageCopyException exception) =>
        exception?.InnerException is Remotes.ImageNotFoundException ? StatusCodes.Status404NotFound : StatusCodes.Status500InternalServerError;
}
