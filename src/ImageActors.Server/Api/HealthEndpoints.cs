using ImageActors.Remotes.Incus;
using ImageActors.Server.Metrics;

namespace ImageActors.Server.Api;

/// <summary><c>/healthz</c>, <c>/metrics</c> and <c>/</c>.</summary>
public static class HealthEndpoints
{
    /// <summary>Maps the routes.</summary>
    public static void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/healthz", static () => Results.Text("ok\n", "text/plain"));
        routes.MapGet("/metrics", static (ServerMetrics metrics) =>
            Results.Text(metrics.ToPrometheusText(), "text/plain; version=0.0.4; charset=utf-8"));

        // Incus answers "/" with the list of API versions; lxc remote add asks for it.
        routes.MapGet("/", static () => ApiResults.Sync<IReadOnlyList<string>>(["/1.0"], IncusJsonContext.Default.IncusResponseIReadOnlyListString));
    }
}
