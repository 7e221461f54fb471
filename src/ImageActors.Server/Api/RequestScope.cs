using ImageActors.Images.Domain;
using ImageActors.Server.Trust;

namespace ImageActors.Server.Api;

/// <summary>The project and caller of an image request, with Incus' rule that untrusted callers stay in <c>default</c>.</summary>
/// <param name="Project">The project named by <c>?project=</c> (default when absent).</param>
/// <param name="Caller">Who is calling.</param>
public sealed record RequestScope(ProjectName Project, Caller Caller)
{
    /// <summary>Reads the scope of a request, or the error to answer instead.</summary>
    public static RequestScope? Read(HttpContext context, out IResult? error)
    {
        ArgumentNullException.ThrowIfNull(context);
        error = null;
        var caller = context.Caller();
        var requested = context.Request.Query["project"].ToString();
        ProjectName project;
        try
        {
            project = string.IsNullOrEmpty(requested) ? ProjectName.Default : ProjectName.Parse(requested);
        }
        catch (InvalidProjectNameException e)
        {
            error = ApiResults.Error(StatusCodes.Status400BadRequest, e.Message);
            return null;
        }

        if (!caller.IsTrusted && project != ProjectName.Default)
        {
            error = ApiResults.Error(StatusCodes.Status400BadRequest, "Unauthenticated image queries are only possible against the default project");
            return null;
        }

        return new RequestScope(project, caller);
    }
}
