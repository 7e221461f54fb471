namespace ImageActors.Fuzz;

/// <summary>
/// One input surface under fuzzing. <see cref="Run"/> feeds it the bytes and returns when the input ends in success
/// or in one of the typed errors a user's bad input is meant to end in; any other exception escapes and is a finding.
/// </summary>
/// <param name="Name">The name the fuzz program and the scripts pick the target by.</param>
/// <param name="Run">Reads one input.</param>
public sealed record FuzzTarget(string Name, Action<Stream> Run)
{
    /// <summary>The most bytes a target reads out of one input; a small input may expand further, which is not a finding.</summary>
    public const int MaxOutputBytes = 8 << 20;

    /// <summary>Reads <paramref name="stream"/> to its end or to <see cref="MaxOutputBytes"/>, whichever comes first.</summary>
    public static long Drain(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var buffer = new byte[1 << 16];
        long total = 0;
        int n;
        while (total < MaxOutputBytes && (n = stream.Read(buffer)) > 0)
        {
            total += n;
        }

        return total;
    }

    /// <summary>The input as text, as a reader of a UTF-8 file gets it.</summary>
    public static string Text(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new StreamReader(stream, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        return reader.ReadToEnd();
    }
}
