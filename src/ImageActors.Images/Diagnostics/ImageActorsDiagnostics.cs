using System.Diagnostics;

namespace ImageActors.Images.Diagnostics;

/// <summary>
/// The names under which the store publishes its metrics and traces, for OpenTelemetry
/// (<c>AddMeter(ImageActorsDiagnostics.Name)</c>, <c>AddSource(ImageActorsDiagnostics.Name)</c>) or a
/// <see cref="System.Diagnostics.Metrics.MeterListener"/> / <see cref="ActivityListener"/> of one's own.
/// </summary>
public static class ImageActorsDiagnostics
{
    /// <summary>The name of the store's <see cref="System.Diagnostics.Metrics.Meter"/> and of its <see cref="ActivitySource"/>.</summary>
    public const string Name = "ImageActors";

    /// <summary>The activity of an import (<see cref="ImageStore.ImportAsync"/>).</summary>
    public const string ImportActivity = "imageactors.import";

    /// <summary>The activity of a copy from a remote server or URL.</summary>
    public const string CopyActivity = "imageactors.copy";

    /// <summary>The activity of a download of a known fingerprint (joined or run).</summary>
    public const string DownloadActivity = "imageactors.download";

    /// <summary>The activity of opening an image's files (<see cref="ImageStore.ExportAsync(Domain.ProjectName, string, CancellationToken)"/>).</summary>
    public const string ExportActivity = "imageactors.export";

    /// <summary>The activity of one eviction by the cache rules.</summary>
    public const string EvictActivity = "imageactors.evict";

    /// <summary>The tag naming an image's fingerprint.</summary>
    public const string FingerprintTag = "imageactors.fingerprint";

    /// <summary>The tag naming the project.</summary>
    public const string ProjectTag = "imageactors.project";

    /// <summary>The tag naming the remote server or URL an image comes from.</summary>
    public const string SourceTag = "imageactors.source";

    /// <summary>The traces of the store's work.</summary>
    internal static ActivitySource Source { get; } = new(Name);

    /// <summary>Marks an activity failed with the exception's type and message.</summary>
    internal static void Failed(Activity? activity, Exception exception)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity.SetTag("error.type", exception.GetType().FullName);
    }
}
