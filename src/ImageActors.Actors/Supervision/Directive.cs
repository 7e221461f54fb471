namespace ImageActors.Actors.Supervision;

/// <summary>What a supervisor does with a failed child.</summary>
public enum Directive
{
    /// <summary>Keep the actor and its state; the failing message is dropped.</summary>
    Resume,

    /// <summary>Replace the actor with a fresh instance; its mailbox (minus the failing message) is kept.</summary>
    Restart,

    /// <summary>Stop the actor.</summary>
    Stop,

    /// <summary>Fail the supervisor itself with the same exception.</summary>
    Escalate,
}

/// <summary>Builds deciders that map exception types to directives.</summary>
public static class Decider
{
    /// <summary>
    /// A decider that picks the directive of the most specific listed type the exception is
    /// (walking its base types), or <paramref name="fallback"/>.
    /// </summary>
    public static Func<Exception, Directive> From(Directive fallback, params (Type ExceptionType, Directive Directive)[] mappings)
    {
        ArgumentNullException.ThrowIfNull(mappings);
        var map = new Dictionary<Type, Directive>();
        foreach (var (type, directive) in mappings)
        {
            map[type] = directive;
        }

        return exception =>
        {
            for (var type = exception.GetType(); type is not null; type = type.BaseType)
            {
                if (map.TryGetValue(type, out var directive))
                {
                    return directive;
                }
            }

            return fallback;
        };
    }
}
