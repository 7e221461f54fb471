using ImageActors.Images.Domain;
using ImageActors.Streaming;

namespace ImageActors.Images.ReadModel;

/// <summary>Orders image records by project, then fingerprint bytes (hex order), so a prefix is a contiguous range.</summary>
internal sealed class ImageKeyComparer : IComparer<ImageRecord>
{
    public static ImageKeyComparer Instance { get; } = new();

    public int Compare(ImageRecord? x, ImageRecord? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null)
        {
            return -1;
        }

        if (y is null)
        {
            return 1;
        }

        var byProject = x.Project.CompareTo(y.Project);
        return byProject != 0 ? byProject : x.Fingerprint.CompareTo(y.Fingerprint);
    }

    /// <summary>A record that compares equal to the image (project, fingerprint), used to search.</summary>
    public static ImageRecord Probe(ProjectName project, Fingerprint fingerprint) => new() { Project = project, Fingerprint = fingerprint };
}

/// <summary>The identity of an alias: its project and name.</summary>
internal readonly record struct AliasKey(ProjectName Project, AliasName Name) : IComparable<AliasKey>
{
    public int CompareTo(AliasKey other)
    {
        var byProject = Project.CompareTo(other.Project);
        return byProject != 0 ? byProject : Name.CompareTo(other.Name);
    }
}
