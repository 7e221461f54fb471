namespace ImageActors.Actors;

/// <summary>
/// The hierarchical address of an actor, e.g. <c>/user/images/abc</c>. Names are unique among
/// siblings, so a path identifies one actor (or one of its successive incarnations).
/// </summary>
public sealed class ActorPath : IEquatable<ActorPath>
{
    private string? _text;

    private ActorPath(ActorPath? parent, string name)
    {
        Parent = parent;
        Name = name;
    }

    /// <summary>The root of every path (<c>/</c>).</summary>
    public static ActorPath Root { get; } = new(null, string.Empty);

    /// <summary>The last element of the path.</summary>
    public string Name { get; }

    /// <summary>The parent's path, or null for the root.</summary>
    public ActorPath? Parent { get; }

    /// <summary>The path of the child called <paramref name="name"/>.</summary>
    public ActorPath Child(string name) => new(this, name);

    /// <summary>Appends a name, as in <c>ActorPath.Root / "user"</c>.</summary>
    public static ActorPath operator /(ActorPath parent, string name)
    {
        ArgumentNullException.ThrowIfNull(parent);
        return parent.Child(name);
    }

    /// <summary>The path as text, <c>/user/images/abc</c>.</summary>
    public override string ToString()
    {
        if (_text is not null)
        {
            return _text;
        }

        _text = Parent is null ? "/" : Parent.Parent is null ? "/" + Name : Parent + "/" + Name;
        return _text;
    }

    /// <inheritdoc />
    public bool Equals(ActorPath? other) => other is not null && string.Equals(ToString(), other.ToString(), StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is ActorPath p && Equals(p);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToString());

    /// <summary>Checks that <paramref name="name"/> can name an actor: not empty, no <c>/</c>, not starting with <c>$</c> (reserved for generated names).</summary>
    public static void ValidateName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal) || name[0] == '$')
        {
            throw new InvalidActorNameException($"'{name}' is not a valid actor name: it must be non-empty, without '/', and not start with '$'.");
        }
    }
}
