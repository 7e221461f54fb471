using ImageActors.Images.Domain;
using ImageActors.Server.Api;
using ImageActors.Server.Images;
using ImageActors.Streaming;

namespace ImageActors.Server.SimpleStreams;

/// <summary>
/// The URL-import ("direct") protocol (spec §4): <c>/direct/&lt;fp, prefix or alias&gt;</c> answers
/// HEAD and GET with <c>Incus-Image-Hash</c> and <c>Incus-Image-URL</c> pointing at the image file, or with
/// <c>LXD-Image-Hash</c> and <c>LXD-Image-URL</c> when LXD asks (<see cref="ClientFamilies.Of"/>): each daemon gets
/// the names it reads. Public unified images only: a URL import takes one file.
/// </summary>
public static class DirectImportEndpoint
{
    /// <summary>Maps the route.</summary>
    public static void Map(IEndpointRouteBuilder routes) =>
        routes.MapMethods("/direct/{**name}", [HttpMethods.Get, HttpMethods.Head], HandleAsync);

    private static async Task<IResult> HandleAsync(HttpContext context, IImageBackend backend, string name)
    {
        var input = name.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        ImageRecord? image = null;
        if (AliasName.TryParse(input, out var alias) && backend.FindAlias(ProjectName.Default, alias) is { } found)
        {
            image = backend.Find(ProjectName.Default, found.Target);
        }

        if (image is null && Fingerprint.IsValidPrefix(input))
        {
            try
            {
                image = backend.GetByPrefix(ProjectName.Default, input);
            }
            catch (ImageNotFoundException)
            {
                image = null;
            }
        }

        if (image is not { Public: true })
        {
            return ApiResults.NotFound($"Image \"{input}\" not found");
        }

        await using var files = await backend.OpenExportAsync(ProjectName.Default, image.Fingerprint, context.RequestAborted);
        if (files.IsSplit)
        {
            return ApiResults.Error(StatusCodes.Status404NotFound, $"Image \"{input}\" is split (metadata + rootfs); a URL import takes a unified image");
        }

        var request = context.Request;
        var url = $"{request.Scheme}://{request.Host}/images/{image.Fingerprint}/{image.Fingerprint}{ImageExports.ExtensionOf(files.MetadataPath)}";
        var prefix = ClientFamilies.Of(request).HeaderPrefix();
        var headers = context.Response.Headers;
        headers[prefix + "-Image-Hash"] = image.Fingerprint.ToString();
        headers[prefix + "-Image-URL"] = url;
        return Results.Ok();
    }
}
