namespace ImageActors.Images.Domain;

/// <summary>
/// An error a user can cause. The message follows Incus' wording; <see cref="StatusCode"/> is the
/// HTTP status Incus answers with, for the server's error envelope.
/// </summary>
public abstract class ImageStoreException : Exception
{
    /// <summary>Creates the error.</summary>
    protected ImageStoreException(string message, int statusCode, Exception? inner = null)
        : base(message, inner) => StatusCode = statusCode;

    /// <summary>The HTTP status code Incus uses for this error.</summary>
    public int StatusCode { get; }
}

/// <summary>No image matches the fingerprint, prefix or alias given (404).</summary>
public sealed class ImageNotFoundException : ImageStoreException
{
    /// <summary>Creates the error for what the user typed.</summary>
    public ImageNotFoundException(string input)
        : base($"Image \"{input}\" not found", 404) => Input = input;

    /// <summary>The fingerprint, prefix or alias as given.</summary>
    public string Input { get; }
}

/// <summary>A fingerprint prefix matches more than one image (Incus answers 500 with this text).</summary>
public sealed class AmbiguousFingerprintException : ImageStoreException
{
    /// <summary>Creates the error for <paramref name="prefix"/>.</summary>
    public AmbiguousFingerprintException(string prefix)
        : base($"More than one image matches \"{prefix}\"", 500) => Prefix = prefix;

    /// <summary>The prefix as given.</summary>
    public string Prefix { get; }
}

/// <summary>An image with the same fingerprint already exists in the project (409).</summary>
public sealed class ImageExistsException : ImageStoreException
{
    /// <summary>Creates the error for <paramref name="fingerprint"/>.</summary>
    public ImageExistsException(string fingerprint)
        : base($"Image with same fingerprint already exists: {fingerprint}", 409) => Fingerprint = fingerprint;

    /// <summary>The fingerprint.</summary>
    public string Fingerprint { get; }
}

/// <summary>No alias of that name exists in the project (404).</summary>
public sealed class AliasNotFoundException : ImageStoreException
{
    /// <summary>Creates the error for <paramref name="name"/>.</summary>
    public AliasNotFoundException(string name)
        : base($"Image alias \"{name}\" not found", 404) => Name = name;

    /// <summary>The alias name as given.</summary>
    public string Name { get; }
}

/// <summary>An alias of that name already exists in the project (409).</summary>
public sealed class AliasExistsException : ImageStoreException
{
    /// <summary>Creates the error for <paramref name="name"/>.</summary>
    public AliasExistsException(string name)
        : base($"Alias \"{name}\" already exists", 409) => Name = name;

    /// <summary>The alias name.</summary>
    public string Name { get; }
}

/// <summary>An alias name breaks Incus' naming rules (400).</summary>
public sealed class InvalidAliasNameException : ImageStoreException
{
    /// <summary>Creates the error for <paramref name="name"/> with the rule it broke.</summary>
    public InvalidAliasNameException(string name, string reason)
        : base($"Invalid alias name \"{name}\": {reason}", 400)
    {
        Name = name;
        Reason = reason;
    }

    /// <summary>The name as given.</summary>
    public string Name { get; }

    /// <summary>The rule it broke.</summary>
    public string Reason { get; }
}

/// <summary>A project name is not usable (400).</summary>
public sealed class InvalidProjectNameException : ImageStoreException
{
    /// <summary>Creates the error for <paramref name="name"/>.</summary>
    public InvalidProjectNameException(string name)
        : base($"Invalid project name \"{name}\"", 400) => Name = name;

    /// <summary>The name as given.</summary>
    public string Name { get; }
}

/// <summary>A <c>filter=</c> expression cannot be parsed or evaluated (400).</summary>
public sealed class InvalidFilterException : ImageStoreException
{
    /// <summary>Creates the error for <paramref name="expression"/>.</summary>
    public InvalidFilterException(string expression, string reason)
        : base($"Invalid filter \"{expression}\": {reason}", 400)
    {
        Expression = expression;
        Reason = reason;
    }

    /// <summary>The expression as given.</summary>
    public string Expression { get; }

    /// <summary>What is wrong with it.</summary>
    public string Reason { get; }
}

/// <summary>A fingerprint or prefix is not hex, or too long (400).</summary>
public sealed class InvalidFingerprintException : ImageStoreException
{
    /// <summary>Creates the error for <paramref name="input"/>.</summary>
    public InvalidFingerprintException(string input)
        : base($"Invalid fingerprint \"{input}\"", 400) => Input = input;

    /// <summary>The input as given.</summary>
    public string Input { get; }
}

/// <summary>An operation is refused because the image is being imported or deleted (409).</summary>
public sealed class ImageBusyException : ImageStoreException
{
    /// <summary>Creates the error.</summary>
    public ImageBusyException(string fingerprint, string reason)
        : base($"Image \"{fingerprint}\" is busy: {reason}", 409) => Fingerprint = fingerprint;

    /// <summary>The fingerprint.</summary>
    public string Fingerprint { get; }
}

/// <summary>
/// The journal could not record a change (500): the disk or database is full, gone or read-only. Nothing changed;
/// the entity reloads its state from the journal on its next use, so the operation can be retried once the journal
/// writes again.
/// </summary>
public sealed class JournalWriteFailedException : ImageStoreException
{
    /// <summary>Creates the error for a change (<paramref name="change"/>, the event's name) of <paramref name="subject"/>.</summary>
    public JournalWriteFailedException(string subject, string change, Exception cause)
        : base($"Failed to record {change} of {subject} in the journal: {cause?.Message.TrimEnd('.')}. Nothing changed; retry once the journal can write again (is its disk full?)", 500, cause)
    {
        Subject = subject;
        Change = change;
    }

    /// <summary>The image or alias the change was for.</summary>
    public string Subject { get; }

    /// <summary>The change (event) that could not be recorded.</summary>
    public string Change { get; }
}

/// <summary>
/// An image or alias could not be loaded from the journal (500): its database did not answer or could not be read.
/// Nothing changed; the next request loads it again, so the operation can be retried once the database answers.
/// </summary>
public sealed class JournalReadFailedException : ImageStoreException
{
    /// <summary>Creates the error for <paramref name="subject"/>, whose recovery failed with <paramref name="cause"/>.</summary>
    public JournalReadFailedException(string subject, Exception cause)
        : base($"Failed to load {subject} from the journal: {cause?.Message.TrimEnd('.')}. Nothing changed; retry once the journal's database answers again", 500, cause)
    {
        Subject = subject;
    }

    /// <summary>The image or alias that could not be loaded.</summary>
    public string Subject { get; }
}

/// <summary>
/// An image or alias stopped before it handled a request (500), after a journal failure or while its node stops.
/// Nothing was done for the request; it may be made again.
/// </summary>
public sealed class EntityStoppedException : ImageStoreException
{
    /// <summary>Creates the error for <paramref name="request"/> (its message name) to <paramref name="subject"/>.</summary>
    public EntityStoppedException(string subject, string request, Exception? cause)
        : base(cause is null
            ? $"{subject} stopped before it handled {request}; nothing was done, try again"
            : $"{subject} stopped before it handled {request}, after a journal failure: {cause.Message.TrimEnd('.')}. Nothing was done; retry once the journal works again", 500, cause)
    {
        Subject = subject;
    }

    /// <summary>The image or alias that stopped.</summary>
    public string Subject { get; }
}

/// <summary>
/// The journal refused one change (500) while it keeps writing others: the event could not be stored as it is (it did
/// not serialize, or the database refused the row). Nothing changed and the image or alias stays as it was; retrying
/// the same change is refused again, so the message names it.
/// </summary>
public sealed class JournalWriteRejectedException : ImageStoreException
{
    /// <summary>Creates the error for a change (<paramref name="change"/>, the event's name) of <paramref name="subject"/>.</summary>
    public JournalWriteRejectedException(string subject, string change, Exception cause)
        : base($"The journal refused to record {change} of {subject}: {cause?.Message.TrimEnd('.')}. Nothing changed; check the server's log for why the journal refused this change", 500, cause)
    {
        Subject = subject;
        Change = change;
    }

    /// <summary>The image or alias the change was for.</summary>
    public string Subject { get; }

    /// <summary>The change (event) that was refused.</summary>
    public string Change { get; }
}

/// <summary>
/// Work a caller waited for (a download, an import's commit) made no progress for the store's stall bound (504). The
/// work may still end on its own; the caller stopped waiting.
/// </summary>
public sealed class OperationStalledException : ImageStoreException
{
    /// <summary>Creates the error for <paramref name="work"/> (what was done, from where) quiet for <paramref name="quiet"/>.</summary>
    public OperationStalledException(string work, TimeSpan quiet)
        : base(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{work} made no progress for {quiet.TotalSeconds:0.#} s; check that the source still sends data and try again"), 504)
    {
        Work = work;
        Quiet = quiet;
    }

    /// <summary>What stalled.</summary>
    public string Work { get; }

    /// <summary>How long nothing moved.</summary>
    public TimeSpan Quiet { get; }
}

/// <summary>An upload or download is not a valid image (400): the reason names what is wrong.</summary>
public sealed class InvalidImageException : ImageStoreException
{
    /// <summary>Creates the error.</summary>
    public InvalidImageException(string reason, Exception? inner = null)
        : base(reason, 400, inner) { }
}

/// <summary>
/// A step of an eviction pass failed (500). The message names the first image and step that failed; the other images of
/// the pass were still asked, those listed in <see cref="Evicted"/> went and stay gone, and the next pass tries again
/// what failed (the image if it stayed, the announcement of its deletion if that failed).
/// </summary>
public sealed class EvictionFailedException : ImageStoreException
{
    /// <summary>Creates the error for the step <paramref name="step"/> of <paramref name="eviction"/> (null: planning failed).</summary>
    /// <param name="eviction">The image whose step failed, or null when the pass failed before it chose images.</param>
    /// <param name="step">What the pass was doing for it.</param>
    /// <param name="evicted">What the pass removed.</param>
    /// <param name="cause">Why the step failed.</param>
    /// <param name="otherFailures">How many more steps of the same pass failed.</param>
    public EvictionFailedException(Caching.Eviction? eviction, string step, IReadOnlyList<Caching.Eviction> evicted, Exception cause, int otherFailures = 0)
        : base(Describe(eviction, step, cause, otherFailures), 500, cause)
    {
        ArgumentNullException.ThrowIfNull(evicted);
        Eviction = eviction;
        Step = step;
        Evicted = evicted;
        OtherFailures = otherFailures;
    }

    /// <summary>The image whose eviction failed first, and why it was to go; null when the pass failed before it chose images.</summary>
    public Caching.Eviction? Eviction { get; }

    /// <summary>What the pass was doing when that step failed.</summary>
    public string Step { get; }

    /// <summary>What the pass removed.</summary>
    public IReadOnlyList<Caching.Eviction> Evicted { get; }

    /// <summary>How many more steps of the pass failed after the one named.</summary>
    public int OtherFailures { get; }

    private static string Describe(Caching.Eviction? eviction, string step, Exception cause, int otherFailures)
    {
        ArgumentNullException.ThrowIfNull(cause);
        var more = otherFailures > 0 ? $" ({otherFailures} more step(s) failed; the next pass tries them again)" : string.Empty;
        return eviction is null
            ? $"Eviction failed while {step}: {cause.Message}{more}"
            : $"Eviction of image \"{eviction.Image.Fingerprint}\" in project \"{eviction.Image.Project.Value}\" ({eviction.Reason}) failed while {step}: {cause.Message}{more}";
    }
}
