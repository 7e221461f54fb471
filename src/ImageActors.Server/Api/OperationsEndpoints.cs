using System.Globalization;
using ImageActors.Remotes.Incus;
using ImageActors.Server.Operations;

namespace ImageActors.Server.Api;

/// <summary>
/// <c>/1.0/operations</c>: list, get, wait and cancel (trusted callers), and get or wait with <c>?secret=</c>
/// for an untrusted caller that holds the operation's secret (a server that pushed an image), as Incus allows.
/// </summary>
public static class OperationsEndpoints
{
    /// <summary>Maps the operation routes.</summary>
    public static void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/1.0/operations", List);
        routes.MapGet("/1.0/operations/{id}", Get);
        routes.MapGet("/1.0/operations/{id}/wait", WaitAsync);
        routes.MapDelete("/1.0/operations/{id}", Cancel);
    }

    private static IResult List(HttpContext context, OperationRegistry registry)
    {
        if (!context.IsTrusted())
        {
            return ApiErrors.Forbidden();
        }

        var recursive = context.Request.Query["recursion"] is { Count: > 0 } r && r[0] != "0";
        var byStatus = registry.List().GroupBy(o => OperationStatusText.Of(o.State.Status).ToLowerInvariant());
        if (recursive)
        {
            IReadOnlyDictionary<string, IReadOnlyList<Operation>> objects = byStatus.ToDictionary(
                g => g.Key, g => (IReadOnlyList<Operation>)[.. g.Select(o => OperationWire.From(o))]);
            return ApiResults.Sync(objects, ServerJsonContext.Default.IncusResponseIReadOnlyDictionaryStringIReadOnlyListOperation);
        }

        IReadOnlyDictionary<string, IReadOnlyList<string>> urls = byStatus.ToDictionary(
            g => g.Key, g => (IReadOnlyList<string>)[.. g.Select(o => o.Url)]);
        return ApiResults.Sync(urls, ServerJsonContext.Default.IncusResponseIReadOnlyDictionaryStringIReadOnlyListString);
    }

    private static IResult Get(HttpContext context, OperationRegistry registry, string id) =>
        Find(context, registry, id, out var operation, allowSecret: true) is { } failure
            ? failure
            : ApiResults.Sync(OperationWire.From(operation), IncusJsonContext.Default.IncusResponseOperation);

    private static async Task<IResult> WaitAsync(HttpContext context, OperationRegistry registry, string id)
    {
        if (Find(context, registry, id, out var operation, allowSecret: true) is { } failure)
        {
            return failure;
        }

        var timeout = Timeout.InfiniteTimeSpan;
        if (context.Request.Query["timeout"] is { Count: > 0 } t)
        {
            if (!int.TryParse(t[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds))
            {
                return ApiResults.Error(StatusCodes.Status400BadRequest, $"Invalid timeout \"{t[0]}\": give whole seconds, or -1 to wait until the end");
            }

            timeout = seconds < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(seconds);
        }

        // On timeout Incus answers with the operation as it stands; the client looks at its status.
        await operation.WaitAsync(timeout, context.RequestAborted);
        return ApiResults.Sync(OperationWire.From(operation), IncusJsonContext.Default.IncusResponseOperation);
    }

    private static IResult Cancel(HttpContext context, OperationRegistry registry, string id)
    {
        if (Find(context, registry, id, out var operation) is { } failure)
        {
            return failure;
        }

        if (!operation.MayCancel)
        {
            return ApiResults.Error(StatusCodes.Status400BadRequest, "This operation can't be cancelled");
        }

        registry.Cancel(operation);
        return ApiResults.Empty();
    }

    private static IResult? Find(HttpContext context, OperationRegistry registry, string id, out TrackedOperation operation, bool allowSecret = false)
    {
        operation = null!;
        var trusted = context.IsTrusted();
        var secret = allowSecret ? context.Request.Query["secret"].ToString() : string.Empty;
        if (!trusted && secret.Length == 0)
        {
            return ApiErrors.Forbidden();
        }

        if (!Guid.TryParse(id, out var guid) || !registry.TryGet(guid, out operation))
        {
            return trusted ? ApiResults.NotFound($"Operation \"{id}\" not found") : ApiErrors.Forbidden();
        }

        if (!trusted && !(operation.State.Metadata.TryGetValue("secret", out var expected) &&
            System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(secret), System.Text.Encoding.UTF8.GetBytes(expected))))
        {
            operation = null!;
            return ApiErrors.Forbidden();
        }

        return null;
    }
}
