namespace ImageActors.Images.Configuration;

/// <summary>The effective value of one key and where it came from, for <c>config show</c>.</summary>
/// <param name="Key">The key.</param>
/// <param name="Value">The value as written (or the default), or null when unset; secrets redacted.</param>
/// <param name="List">The items, for a list key.</param>
/// <param name="Origin">The file and line, environment variable, override, or the built-in default.</param>
public sealed record ConfigSetting(ConfigKey Key, string? Value, IReadOnlyList<string>? List, ConfigOrigin Origin);

/// <summary>
/// Every key the layers know, composed from their sections. Validation walks the configuration:
/// a key no section knows, or a value its key rejects, is reported with its path, where it was set,
/// and for an unknown key the nearest known key. The <c>akka</c> section is Akka.NET's own
/// configuration: it is passed to the actor system, which checks it, and never reported here.
/// </summary>
public sealed class ConfigurationSchema
{
    /// <summary>The root section that holds Akka.NET's own settings.</summary>
    public const string AkkaSection = "akka";

    private readonly Dictionary<string, ConfigKey> _keys = new(StringComparer.Ordinal);
    private readonly HashSet<string> _objectPaths = new(StringComparer.Ordinal);

    /// <summary>Composes the sections; two sections may not declare the same key.</summary>
    public ConfigurationSchema(params IEnumerable<ConfigSection> sections)
    {
        Sections = [.. sections];
        foreach (var key in Sections.SelectMany(s => s.Keys))
        {
            if (!_keys.TryAdd(key.Path, key))
            {
                throw new ArgumentException($"the key {key.Path} is declared twice", nameof(sections));
            }

            var dot = key.Path.LastIndexOf('.');
            while (dot > 0)
            {
                _objectPaths.Add(key.Path[..dot]);
                dot = key.Path.LastIndexOf('.', dot - 1);
            }
        }
    }

    /// <summary>The sections, in the order given.</summary>
    public IReadOnlyList<ConfigSection> Sections { get; }

    /// <summary>Every key, section by section.</summary>
    public IEnumerable<ConfigKey> Keys => Sections.SelectMany(s => s.Keys);

    /// <summary>The key at <paramref name="path"/>, or null.</summary>
    public ConfigKey? Find(string path) => _keys.GetValueOrDefault(path);

    /// <summary>The known key nearest to <paramref name="path"/> by edit distance, when one is close enough to be a typo.</summary>
    public string? Suggest(string path)
    {
        var best = _keys.Keys
            .Select(k => (Key: k, Distance: EditDistance.Between(path, k)))
            .OrderBy(c => c.Distance)
            .ThenBy(c => c.Key, StringComparer.Ordinal)
            .FirstOrDefault();
        if (best.Key is not null && best.Distance <= Math.Max(2, path.Length / 3))
        {
            return best.Key;
        }

        // The right name in the wrong section (server.replicas for images.replicas).
        var last = path[(path.LastIndexOf('.') + 1)..];
        return _keys.Keys.FirstOrDefault(k => k[(k.LastIndexOf('.') + 1)..] == last);
    }

    /// <summary>Every problem in <paramref name="config"/>: unknown keys and values their key rejects.</summary>
    public IReadOnlyList<ConfigurationError> Check(HoconConfig config)
    {
        var errors = new List<ConfigurationError>();
        Check(config.Root, string.Empty, errors);
        return errors;
    }

    /// <summary>Throws when <paramref name="config"/> has an unknown key or a bad value.</summary>
    /// <exception cref="ConfigurationException">Lists every problem found.</exception>
    public void Validate(HoconConfig config)
    {
        var errors = Check(config);
        if (errors.Count > 0)
        {
            throw new ConfigurationException(errors);
        }
    }

    /// <summary>
    /// Each key's effective value and origin, defaults included, in schema order; then every <c>akka.*</c> value
    /// the configuration sets (Akka's own defaults are not listed).
    /// </summary>
    public IReadOnlyList<ConfigSetting> Effective(HoconConfig config) =>
        [.. Keys.Concat(AkkaKeys(config)).Select(key => config.GetValue(key.Path) switch
        {
            null => new ConfigSetting(key, key.Default, key.Type == ConfigValueType.StringList ? [] : null, ConfigOrigin.BuiltInDefault),
            HoconArray array => new ConfigSetting(key, null, [.. array.Items.Select(i => i.ToString() ?? string.Empty)], array.Origin),
            HoconScalar scalar => new ConfigSetting(key, scalar.Text is { Length: 0 } && key.Default is null ? null : Redact(key, scalar.Text), null, scalar.Origin),
            var other => new ConfigSetting(key, other.ToString(), null, other.Origin),
        })];

    private static IEnumerable<ConfigKey> AkkaKeys(HoconConfig config) =>
        config.Root.TryGetValue(AkkaSection, out var akka) && akka is HoconObject section
            ? Leaves(section, AkkaSection).Select(l => ConfigKey.AkkaSetting(l.Path, l.Value is HoconArray))
            : [];

    private static IEnumerable<(string Path, HoconValue Value)> Leaves(HoconObject o, string prefix) =>
        o.Fields.SelectMany(f => f.Value is HoconObject child
            ? Leaves(child, prefix + "." + f.Key)
            : [(prefix + "." + f.Key, f.Value)]);

    /// <summary>The value with <c>Password=...</c> (and <c>Pwd=</c>) replaced by <c>***</c> for a sensitive key.</summary>
    public static string? Redact(ConfigKey key, string? value) =>
        key.Sensitive && value is not null
            ? System.Text.RegularExpressions.Regex.Replace(value, "((?:password|pwd)\\s*=)[^;]*", "$1***", System.Text.RegularExpressions.RegexOptions.IgnoreCase)
            : value;

    private void Check(HoconObject o, string prefix, List<ConfigurationError> errors)
    {
        foreach (var (name, value) in o.Fields)
        {
            if (prefix.Length == 0 && name == AkkaSection && value is HoconObject)
            {
                continue;
            }

            var path = prefix.Length == 0 ? name : prefix + "." + name;
            if (_keys.TryGetValue(path, out var key))
            {
                if (key.Validate(value) is { } problem)
                {
                    errors.Add(new ConfigurationError(path, value.Origin, problem));
                }
            }
            else if (value is HoconObject child && child.Fields.Count > 0)
            {
                Check(child, path, errors);
            }
            else if (value is HoconObject && _objectPaths.Contains(path))
            {
                // An empty object where the schema has a section: nothing to check.
            }
            else
            {
                var problem = _objectPaths.Contains(path) ? $"is a section, found {value.KindName}" : "unknown key";
                errors.Add(new ConfigurationError(path, value.Origin, problem, _objectPaths.Contains(path) ? null : Suggest(path)));
            }
        }
    }
}
