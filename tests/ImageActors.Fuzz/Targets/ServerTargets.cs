using System.Text;
using ImageActors.Server.Api;

namespace ImageActors.Fuzz;

/// <summary>Targets of the server: the multipart body of a split image upload (POST /1.0/images).</summary>
public static class ServerTargets
{
    /// <summary>Every server target.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("upload-multipart", UploadMultipart),
    ];

    // The first line is the request's Content-Type, the rest its body: the server splits it into the metadata and
    // rootfs parts and the store reads each to its end. It must end in success or in an error the server answers
    // with a clear status (ApiErrorTranslation), never in an exception it would answer with a bare 500.
    private static void UploadMultipart(Stream input)
    {
        var contentType = ReadLine(input);
        try
        {
            var (metadata, rootfs) = ImageUploads.OpenPartsAsync(contentType, input, CancellationToken.None).GetAwaiter().GetResult();
            FuzzTarget.Drain(metadata);
            FuzzTarget.Drain(rootfs);
            _ = rootfs.Type;
        }
        catch (Exception e) when (ApiErrorTranslation.Translate(e) is not null)
        {
        }
    }

    private static string ReadLine(Stream input)
    {
        var line = new StringBuilder();
        int b;
        while ((b = input.ReadByte()) >= 0 && b != '\n')
        {
            line.Append((char)b);
        }

        return line.ToString().TrimEnd('\r');
    }
}
