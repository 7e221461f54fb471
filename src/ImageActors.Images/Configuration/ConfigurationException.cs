namespace ImageActors.Images.Configuration;

/// <summary>One problem with the configuration: a key (when there is one), where it was set, and what is wrong.</summary>
/// <param name="Path">The key's path (<c>images.replicas</c>), or null for a syntax error.</param>
/// <param name="Origin">Where the offending text is.</param>
/// <param name="Message">What is wrong, in a few words.</param>
/// <param name="Suggestion">The nearest known key for an unknown key, when one is close.</param>
public sealed record ConfigurationError(string? Path, ConfigOrigin Origin, string Message, string? Suggestion = null)
{
    /// <summary>
    /// <c>images.remote_cache_expiri (config/appliance.hocon): unknown key; did you mean images.remote_cache_expiry?</c>,
    /// or <c>akka.hocon:3: syntax error: ...</c> for text Akka's parser rejects.
    /// </summary>
    public override string ToString()
    {
        var text = Path is null ? $"{Origin}: {Message}" : $"{Path} ({Origin}): {Message}";
        return Suggestion is null ? text : $"{text}; did you mean {Suggestion}?";
    }
}

/// <summary>
/// The configuration cannot be used: a syntax error, an unknown key or a bad value. The message
/// names each key's path, where it was set, and for an unknown key the nearest known one.
/// </summary>
public sealed class ConfigurationException : Exception
{
    /// <summary>Creates the exception for one or more problems.</summary>
    public ConfigurationException(IReadOnlyList<ConfigurationError> errors)
        : base(string.Join(Environment.NewLine, errors))
    {
        ArgumentOutOfRangeException.ThrowIfZero(errors.Count);
        Errors = errors;
    }

    /// <summary>Creates the exception for one problem.</summary>
    public ConfigurationException(ConfigurationError error)
        : this([error])
    {
    }

    /// <summary>Every problem found (validation reports them all, not just the first).</summary>
    public IReadOnlyList<ConfigurationError> Errors { get; }
}
