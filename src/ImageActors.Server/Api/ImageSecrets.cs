using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using ImageActors.Images.Domain;
using ImageActors.Server.Operations;
using ImageActors.Streaming;

namespace ImageActors.Server.Api;

/// <summary>
/// Download secrets for private images (spec §2.6): a token operation per secret, single use, but
/// still honoured while the used token lingers (5 s) so a client can fetch info and export back to back.
/// Also the push tokens of <c>POST /1.0/images</c> with <c>source.mode = push</c>: a token operation whose
/// secret lets one otherwise untrusted upload of that fingerprint in, with the settings the trusted client
/// asked for (aliases, public, properties, profiles).
/// </summary>
public sealed class ImageSecrets(OperationRegistry operations)
{
    private readonly ConcurrentDictionary<Guid, PushGrant> _pushes = new();

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

    /// <summary>Creates a push token for <paramref name="fingerprint"/>: its metadata holds the secret the pushing server sends back.</summary>
    public TrackedOperation CreatePush(ProjectName project, Fingerprint fingerprint, PushGrant grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        var token = Create(project, fingerprint);
        _pushes[token.Id] = grant;

        // A token cancelled without being used (the client gave up) leaves no grant behind.
        _ = token.Completion.ContinueWith(_ => _pushes.TryRemove(token.Id, out PushGrant? _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return token;
    }

    /// <summary>
    /// The grant of the live push token for <paramref name="fingerprint"/> whose secret is <paramref name="secret"/>,
    /// or null. A push token is used once: admitting it ends it, and a used or cancelled token admits nothing.
    /// </summary>
    public PushGrant? AdmitPush(ProjectName project, Fingerprint fingerprint, string? secret)
    {
        if (string.IsNullOrEmpty(secret))
        {
            return null;
        }

        var url = ImagesEndpoints.Url(fingerprint);
        var presented = Encoding.UTF8.GetBytes(secret);
        foreach (var operation in operations.List())
        {
            if (operation.Class != OperationClass.Token || operation.Project != project.Value || operation.State.Status.IsFinal() ||
                !operation.Resources.TryGetValue("images", out var images) || !images.Contains(url) ||
                !operation.State.Metadata.TryGetValue("secret", out var expected) ||
                !CryptographicOperations.FixedTimeEquals(presented, Encoding.UTF8.GetBytes(expected)))
            {
                continue;
            }

            if (_pushes.TryRemove(operation.Id, out var grant))
            {
                operations.Cancel(operation);
                return grant;
            }
        }

        return null;
    }
}

/// <summary>What the trusted client that asked for a push token wants the pushed image to get.</summary>
/// <param name="Aliases">Aliases to create.</param>
/// <param name="Public">Public flag.</param>
/// <param name="Properties">Properties merged over the image's own.</param>
/// <param name="Profiles">Profiles, or null for the default.</param>
public sealed record PushGrant(
    IReadOnlyList<AliasName> Aliases,
    bool Public,
    IReadOnlyDictionary<string, string> Properties,
    IReadOnlyList<string>? Profiles);
