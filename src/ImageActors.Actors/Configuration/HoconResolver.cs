using System.Text;

namespace ImageActors.Actors.Configuration;

/// <summary>
/// Replaces substitutions in a tree read by <see cref="HoconReader"/> with the values they name,
/// looking first in the configuration (forward references included) and then, as HOCON does,
/// in the environment. Each node is resolved once; a node met again while it is being resolved
/// is a cycle.
/// </summary>
internal sealed class HoconResolver
{
    private readonly HoconObject _root;
    private readonly Func<string, string?> _environment;
    private readonly Dictionary<HoconValue, HoconValue?> _resolved = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<HoconValue> _inProgress = new(ReferenceEqualityComparer.Instance);

    private HoconResolver(HoconObject root, Func<string, string?> environment)
    {
        _root = root;
        _environment = environment;
    }

    public static HoconObject Resolve(HoconObject root, Func<string, string?> environment) =>
        (HoconObject)new HoconResolver(root, environment).Resolve(root)!;

    /// <returns>The resolved value, or null when it is an undefined optional substitution.</returns>
    private HoconValue? Resolve(HoconValue value)
    {
        if (value is HoconScalar or HoconWhitespace)
        {
            return value;
        }

        if (_resolved.TryGetValue(value, out var done))
        {
            return done;
        }

        if (!_inProgress.Add(value))
        {
            throw new ConfigurationException(new ConfigurationError(null, value.Origin, $"substitution cycle: {Describe(value)} depends on itself"));
        }

        var result = value switch
        {
            HoconObject o => ResolveObject(o),
            HoconArray a => new HoconArray([.. a.Items.Select(Resolve).OfType<HoconValue>()], a.Origin),
            HoconSubstitution s => ResolveSubstitution(s),
            HoconConcatenation c => ResolveConcatenation(c),
            HoconOverlay f => ResolveOverlay(f),
            _ => throw new InvalidOperationException($"unexpected node {value.GetType().Name}"),
        };
        _inProgress.Remove(value);
        _resolved[value] = result;
        return result;
    }

    private static string Describe(HoconValue value) => value is HoconSubstitution s ? s.ToString() : $"the value at {value.Origin}";

    private HoconObject ResolveObject(HoconObject source)
    {
        var result = new HoconObject(source.Origin);
        foreach (var (key, field) in source.Fields)
        {
            var resolved = Resolve(field);
            if (resolved is not null)
            {
                result.Fields[key] = resolved;
            }
        }

        return result;
    }

    private HoconValue? ResolveSubstitution(HoconSubstitution substitution)
    {
        var found = Lookup(substitution.Path);
        if (found is not null)
        {
            return found;
        }

        var name = substitution.PathText;
        var variable = _environment(name);
        if (variable is not null)
        {
            return new HoconScalar(variable, quoted: true, ConfigOrigin.FromEnvironment(name));
        }

        if (substitution.Optional)
        {
            return null;
        }

        throw new ConfigurationException(new ConfigurationError(null, substitution.Origin, $"{substitution} is not defined in the configuration nor as an environment variable"));
    }

    /// <summary>The resolved value at an absolute path, or null when nothing is defined there.</summary>
    private HoconValue? Lookup(IReadOnlyList<string> path)
    {
        HoconValue current = _root;
        foreach (var segment in path)
        {
            // Walk unresolved objects without resolving them whole, so that a field may refer
            // to a sibling of an ancestor without the ancestor depending on itself.
            if (current is not HoconObject)
            {
                var resolved = Resolve(current);
                if (resolved is not HoconObject)
                {
                    return null;
                }

                current = resolved;
            }

            if (!((HoconObject)current).Fields.TryGetValue(segment, out var next))
            {
                return null;
            }

            current = next;
        }

        return Resolve(current);
    }

    private HoconValue? ResolveConcatenation(HoconConcatenation concatenation)
    {
        var parts = concatenation.Parts.Select(Resolve).OfType<HoconValue>().ToList();
        var solid = parts.Where(p => p is not HoconWhitespace).ToList();
        if (solid.Count == 0)
        {
            return null;
        }

        if (solid.Count == 1 && parts.Count == 1)
        {
            return solid[0];
        }

        if (solid.All(p => p is HoconArray))
        {
            return new HoconArray([.. solid.SelectMany(p => ((HoconArray)p).Items)], concatenation.Origin);
        }

        if (solid.All(p => p is HoconObject))
        {
            var merged = new HoconObject(concatenation.Origin);
            foreach (var part in solid)
            {
                merged = Merge(merged, (HoconObject)part);
            }

            return merged;
        }

        var mixed = solid.FirstOrDefault(p => p is HoconArray or HoconObject);
        if (mixed is not null)
        {
            throw new ConfigurationException(new ConfigurationError(null, concatenation.Origin, $"cannot concatenate {mixed.KindName} with other kinds of values"));
        }

        var text = new StringBuilder();
        foreach (var part in parts)
        {
            text.Append(part switch
            {
                HoconWhitespace w => w.Text,
                HoconScalar s => s.Text ?? "null",
                _ => string.Empty,
            });
        }

        // Whitespace at either end of a concatenation is only layout.
        return new HoconScalar(text.ToString().Trim(' ', '\t'), quoted: true, concatenation.Origin);
    }

    private HoconValue? ResolveOverlay(HoconOverlay overlay)
    {
        var over = Resolve(overlay.Over);
        if (over is null)
        {
            return Resolve(overlay.Under);
        }

        if (over is HoconObject later && Resolve(overlay.Under) is HoconObject earlier)
        {
            return Merge(earlier, later);
        }

        return over;
    }

    /// <summary>A new object with the fields of both; <paramref name="later"/> wins, nested objects merge.</summary>
    private static HoconObject Merge(HoconObject earlier, HoconObject later)
    {
        var result = new HoconObject(later.Origin);
        foreach (var (key, value) in earlier.Fields)
        {
            result.Fields[key] = value;
        }

        foreach (var (key, value) in later.Fields)
        {
            result.Fields[key] = result.Fields.TryGetValue(key, out var existing) && existing is HoconObject e && value is HoconObject l
                ? Merge(e, l)
                : value;
        }

        return result;
    }
}
