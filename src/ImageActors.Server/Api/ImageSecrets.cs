using System.Security.Cryptography;
using System.Text;
using ImageActors.Images.Domain;
using ImageActors.Server.Operations;
using ImageActors.Streaming;

namespace ImageActors.Server.Api;

/// <summary>
/// Download secrets for private images (spec §2.6): a token operation per secret, single use, but
/// still honoured while the used token lingers (5 s) so a client can fetch info and export back to back.
/// </summary>
public sealed class ImageSecrets(OperationRegistry operations)
{
    /// <summary>Description of token operations, as Incus words it.</summary>
    public const string Description = "Image download token";

    /// <summary>Creates a secret for an image.</summary>
    public TrackedOperation Create(ProjectName project, Fingerprint fingerprint)
    {
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        return operations.CreateToken(
            Description,
            project.Value,
            new Dictionary<string, IReadOnlyList<string>> { ["images"] = [ImagesEndpoints.Url(fingerprint)] },
            new Dictionary<string, string> { ["secret"] = secret });
    }

    /// <summary>Whether <paramref name="secret"/> grants access to the image; a first use cancels the token.</summary>
    public bool Admits(ProjectName project, Fingerprint fingerprint, string? secret)
    {
        if (string.IsNullOrEmpty(secret))
        {
            return false;
        }

        var url = ImagesEndpoints.Url(fingerprint);
        var presented = Encoding.UTF8.GetBytes(secret);
        foreach (var operation in operations.List())
        {
            if (operation.Class != OperationClass.Token || operation.Project != project.Value ||
                !operation.Resources.TryGetValue("images", out var images) || !images.Contains(url) ||
                !operation.State.Metadata.TryGetValue("secret", out var expected))
            {
                continue;
            }

            if (CryptographicOperations.FixedTimeEquals(presented, Encoding.UTF8.GetBytes(expected)))
            {
                operations.Cancel(operation);
                return true;
            }
        }

        return false;
    }
}
