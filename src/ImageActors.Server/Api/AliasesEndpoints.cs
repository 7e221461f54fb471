using System.Text.Json;
using ImageActors.Images.Domain;
using ImageActors.Remotes.Incus;
using ImageActors.Server.Events;
using ImageActors.Server.Images;
using Microsoft.AspNetCore.Http.Features;

namespace ImageActors.Server.Api;

/// <summary><c>/1.0/images/aliases</c> and <c>/1.0/images/aliases/&lt;name&gt;</c> (spec §2.4).</summary>
public static class AliasesEndpoints
{
    /// <summary>The URL of an alias; <c>/</c> in the name is escaped, as Incus writes it.</summary>
    public static string Url(AliasName name) => "/1.0/images/aliases/" + Uri.EscapeDataString(name.Value);

    /// <summary>Maps the routes.</summary>
    public static void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/1.0/images/aliases", List);
        routes.MapPost("/1.0/images/aliases", CreateAsync);
        routes.MapGet("/1.0/images/aliases/{**name}", GetAsync);
        routes.MapPut("/1.0/images/aliases/{**name}", PutAsync);
        routes.MapPatch("/1.0/images/aliases/{**name}", PatchAsync);
        routes.MapPost("/1.0/images/aliases/{**name}", RenameAsync);
        routes.MapDelete("/1.0/images/aliases/{**name}", DeleteAsync);
    }

    /// <summary>
    /// The alias name from the request's path, decoded once from the target the client sent. Clients send
    /// <c>/</c> as <c>%2F</c> in one segment; ASP.NET Core's route value has every escape but <c>%2F</c> decoded
    /// already, so decoding it again would make the name <c>a%2Fb</c> (sent <c>a%252Fb</c>) read as <c>a/b</c>.
    /// </summary>
    internal static AliasName RouteName(HttpContext context, string routed)
    {
        const string Prefix = "/1.0/images/aliases/";
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (raw is not null && raw.StartsWith(Prefix, StringComparison.Ordinal))
        {
            var end = raw.IndexOf('?', StringComparison.Ordinal);
            return AliasName.Parse(Uri.UnescapeDataString(end < 0 ? raw[Prefix.Length..] : raw[Prefix.Length..end]));
        }

        return AliasName.Parse(routed.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase));
    }

    // A public image server lets anyone list the aliases of public images (Incus restricts the list to
    // trusted callers, but then `lxc image alias list` fails against a public remote).
    private static IResult List(HttpContext context, IImageBackend backend)
    {
        if (RequestScope.Read(context, out var error) is not { } scope)
        {
            return error!;
        }

        var aliases = backend.ListAliases(scope.Project).Where(a => scope.Caller.IsTrusted || IsPublic(backend, a));
        if (ImagesEndpoints.IsRecursive(context))
        {
            IReadOnlyList<ImageAliasesEntry> entries = [.. aliases.Select(ImageWire.From)];
            return ApiResults.Sync(entries, IncusJsonContext.Default.IncusResponseIReadOnlyListImageAliasesEntry);
        }

        IReadOnlyList<string> urls = [.. aliases.Select(a => Url(a.Name))];
        return ApiResults.Sync(urls, IncusJsonContext.Default.IncusResponseIReadOnlyListString);
    }

    private static async Task<IResult> GetAsync(HttpContext context, IImageBackend backend, string name)
    {
        if (RequestScope.Read(context, out var error) is not { } scope)
        {
            return error!;
        }

        // The cache appliance answers with the alias as it found or created it for the image it holds for this request
        // (fetched from its upstreams when missing, counted as a hit or miss), not from a second lookup that an
        // eviction may have overtaken.
        await using var held = await backend.PullThroughAsync(scope.Project, RouteName(context, name).Value, context.RequestAborted);
        var alias = held?.Alias ?? Find(context, backend, scope, name);
        var isPublic = held?.Alias is not null ? held.Image.Public : IsPublic(backend, alias);
        if (!scope.Caller.IsTrusted && !isPublic)
        {
            throw new AliasNotFoundException(alias.Name.Value);
        }

        return ApiResults.Sync(ImageWire.From(alias), IncusJsonContext.Default.IncusResponseImageAliasesEntry, etag: ImageWire.ETag(alias));
    }

    private static async Task<IResult> CreateAsync(HttpContext context, IImageBackend backend, Lifecycle lifecycle)
    {
        if (ImagesEndpoints.Writable(context, out var error) is not { } scope)
        {
            return error!;
        }

        var post = await JsonSerializer.DeserializeAsync(context.Request.Body, IncusJsonContext.Default.ImageAliasesEntry, context.RequestAborted)
            ?? throw new JsonException("The request body is empty");
        var name = AliasName.Parse(post.Name);
        var target = backend.GetByPrefix(scope.Project, post.Target);
        var alias = await backend.CreateAliasAsync(scope.Project, name, target.Fingerprint, post.Description, context.RequestAborted);
        lifecycle.Publish(LifecycleActions.ImageAliasCreated, Url(alias.Name), scope.Project, scope.Caller, new() { ["target"] = alias.Target.ToString() }, alias.Name.Value);
        return ApiResults.Empty(location: Url(alias.Name));
    }

    private static async Task<IResult> PutAsync(HttpContext context, IImageBackend backend, Lifecycle lifecycle, string name)
    {
        if (ImagesEndpoints.Writable(context, out var error) is not { } scope)
        {
            return error!;
        }

        var alias = Find(context, backend, scope, name);
        if (ImagesEndpoints.IfMatchFails(context, ImageWire.ETag(alias)))
        {
            return ApiResults.Error(StatusCodes.Status412PreconditionFailed, "ETag doesn't match");
        }

        var put = await JsonSerializer.DeserializeAsync(context.Request.Body, IncusJsonContext.Default.ImageAliasesEntryPut, context.RequestAborted)
            ?? throw new JsonException("The request body is empty");
        if (string.IsNullOrEmpty(put.Target))
        {
            return ApiResults.Error(StatusCodes.Status400BadRequest, "The target field is required");
        }

        var target = backend.GetByPrefix(scope.Project, put.Target);
        var updated = await backend.UpdateAliasAsync(scope.Project, alias.Name, target.Fingerprint, put.Description ?? string.Empty, context.RequestAborted);
        lifecycle.Publish(LifecycleActions.ImageAliasUpdated, Url(updated.Name), scope.Project, scope.Caller, new() { ["target"] = updated.Target.ToString() }, updated.Name.Value);
        return ApiResults.Empty();
    }

    private static async Task<IResult> PatchAsync(HttpContext context, IImageBackend backend, Lifecycle lifecycle, string name)
    {
        if (ImagesEndpoints.Writable(context, out var error) is not { } scope)
        {
            return error!;
        }

        var alias = Find(context, backend, scope, name);
        if (ImagesEndpoints.IfMatchFails(context, ImageWire.ETag(alias)))
        {
            return ApiResults.Error(StatusCodes.Status412PreconditionFailed, "ETag doesn't match");
        }

        var patch = await JsonSerializer.DeserializeAsync(context.Request.Body, IncusJsonContext.Default.ImageAliasesEntryPut, context.RequestAborted)
            ?? throw new JsonException("The request body is empty");
        var target = string.IsNullOrEmpty(patch.Target) ? alias.Target : backend.GetByPrefix(scope.Project, patch.Target).Fingerprint;
        var updated = await backend.UpdateAliasAsync(scope.Project, alias.Name, target, patch.Description ?? alias.Description, context.RequestAborted);
        lifecycle.Publish(LifecycleActions.ImageAliasUpdated, Url(updated.Name), scope.Project, scope.Caller, new() { ["target"] = updated.Target.ToString() }, updated.Name.Value);
        return ApiResults.Empty();
    }

    private static async Task<IResult> RenameAsync(HttpContext context, IImageBackend backend, Lifecycle lifecycle, string name)
    {
        if (ImagesEndpoints.Writable(context, out var error) is not { } scope)
        {
            return error!;
        }

        var alias = Find(context, backend, scope, name);
        var post = await JsonSerializer.DeserializeAsync(context.Request.Body, IncusJsonContext.Default.ImageAliasesEntryPost, context.RequestAborted)
            ?? throw new JsonException("The request body is empty");
        var renamed = await backend.RenameAliasAsync(scope.Project, alias.Name, AliasName.Parse(post.Name), context.RequestAborted);
        lifecycle.Publish(LifecycleActions.ImageAliasRenamed, Url(renamed.Name), scope.Project, scope.Caller, new() { ["old_name"] = alias.Name.Value }, renamed.Name.Value);
        return ApiResults.Empty(location: Url(renamed.Name));
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, IImageBackend backend, Lifecycle lifecycle, string name)
    {
        if (ImagesEndpoints.Writable(context, out var error) is not { } scope)
        {
            return error!;
        }

        var alias = Find(context, backend, scope, name);
        await backend.DeleteAliasAsync(scope.Project, alias.Name, context.RequestAborted);
        lifecycle.Publish(LifecycleActions.ImageAliasDeleted, Url(alias.Name), scope.Project, scope.Caller, name: alias.Name.Value);
        return ApiResults.Empty();
    }

    private static AliasRecord Find(HttpContext context, IImageBackend backend, RequestScope scope, string routed)
    {
        var name = RouteName(context, routed);
        return backend.FindAlias(scope.Project, name) ?? throw new AliasNotFoundException(name.Value);
    }

    private static bool IsPublic(IImageBackend backend, AliasRecord alias) => backend.Find(alias.Project, alias.Target)?.Public == true;
}
