using ImageActors.Server.Trust;

namespace ImageActors.Server.Api;

/// <summary>Common error answers and the caller check shared by the endpoints.</summary>
public static class ApiErrors
{
    /// <summary>403 for a write or a trusted-only listing by an untrusted caller.</summary>
    public static IResult Forbidden() => ApiResults.Error(StatusCodes.Status403Forbidden, "not authorized");

    /// <summary>The request's caller.</summary>
    public static Caller Caller(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.RequestServices.GetRequiredService<CallerIdentification>().Identify(context);
    }

    /// <summary>Whether the request's caller is trusted.</summary>
    public static bool IsTrusted(this HttpContext context) => context.Caller().IsTrusted;
}
