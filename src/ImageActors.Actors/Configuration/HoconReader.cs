using System.Globalization;
using System.Text;

namespace ImageActors.Actors.Configuration;

/// <summary>
/// Reads HOCON text into an unresolved tree, merging each field into the tree as it goes so that
/// later definitions override earlier ones and self-references see the earlier value.
/// Substitutions are left in place; <see cref="HoconResolver"/> replaces them once every source is read.
/// </summary>
internal sealed class HoconReader
{
    // Characters HOCON forbids in unquoted strings and keys.
    private const string Forbidden = "$\"{}[]:=,+#`^?!@*&\\";

    private readonly string _text;
    private readonly string _source;
    private readonly ConfigOriginKind _kind;
    private readonly string? _directory;
    private readonly IReadOnlyList<string> _includeStack;
    private readonly IReadOnlyList<string> _substitutionPrefix;
    private int _pos;
    private int _line = 1;
    private int _column = 1;

    private HoconReader(string text, string source, ConfigOriginKind kind, string? directory, IReadOnlyList<string> includeStack, IReadOnlyList<string> substitutionPrefix)
    {
        _text = text;
        _source = source;
        _kind = kind;
        _directory = directory;
        _includeStack = includeStack;
        _substitutionPrefix = substitutionPrefix;
    }

    /// <summary>Reads a file into <paramref name="root"/>.</summary>
    public static void ReadFile(string path, HoconObject root)
    {
        var full = Path.GetFullPath(path);
        ReadFile(full, root, [], [], []);
    }

    /// <summary>Reads text into <paramref name="root"/>; includes are relative to the current directory.</summary>
    public static void ReadText(string text, string source, ConfigOriginKind kind, HoconObject root)
    {
        var reader = new HoconReader(text, source, kind, null, [], []);
        reader.ReadDocument(root, []);
    }

    /// <summary>
    /// Reads a single value for <paramref name="path"/> under <paramref name="root"/> (for <c>--set key=value</c>,
    /// where <c>${key}</c> means the earlier value); null when the text is not one HOCON value.
    /// </summary>
    public static HoconValue? TryReadValue(string text, ConfigOrigin origin, HoconObject root, IReadOnlyList<string> path)
    {
        var reader = new HoconReader(text, origin.Source, origin.Kind, null, [], []);
        try
        {
            reader.SkipInlineWhitespace();
            var value = reader.ReadValue(path, ValueAt(root, path));
            reader.SkipInlineWhitespace();
            return reader.AtEnd ? value : null;
        }
        catch (ConfigurationException)
        {
            return null;
        }
    }

    private static void ReadFile(string fullPath, HoconObject scope, IReadOnlyList<string> scopePath, IReadOnlyList<string> includeStack, IReadOnlyList<string> substitutionPrefix)
    {
        string text;
        try
        {
            text = File.ReadAllText(fullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Error(ConfigOrigin.InFile(fullPath, 0), $"cannot be read: {e.Message}");
        }

        var reader = new HoconReader(text, fullPath, ConfigOriginKind.File, Path.GetDirectoryName(fullPath), [.. includeStack, fullPath], substitutionPrefix);
        reader.ReadDocument(scope, scopePath);
    }

    private bool AtEnd => _pos >= _text.Length;

    private char Peek(int offset = 0) => _pos + offset < _text.Length ? _text[_pos + offset] : '\0';

    private ConfigOrigin Here => _kind == ConfigOriginKind.File
        ? ConfigOrigin.InFile(_source, _line, _column)
        : new ConfigOrigin(_kind, _source);

    private ConfigOrigin HereLine => Here.WithoutColumn();

    private char Next()
    {
        var c = _text[_pos++];
        if (c == '\n')
        {
            _line++;
            _column = 1;
        }
        else
        {
            _column++;
        }

        return c;
    }

    private ConfigurationException Error(string message) => Error(Here, message);

    private static ConfigurationException Error(ConfigOrigin origin, string message) =>
        new(new ConfigurationError(null, origin, message));

    private void ReadDocument(HoconObject scope, IReadOnlyList<string> scopePath)
    {
        SkipBlank();
        if (Peek() == '{')
        {
            Next();
            ReadObjectBody(scope, scopePath, braced: true);
            SkipBlank();
            if (!AtEnd)
            {
                throw Error($"unexpected '{Peek()}' after the closing '}}' of the document");
            }
        }
        else
        {
            ReadObjectBody(scope, scopePath, braced: false);
        }
    }

    /// <summary>Fields until '}' (braced) or the end of the text, assigned into <paramref name="scope"/>.</summary>
    /// <param name="scope">The object the fields go into.</param>
    /// <param name="scopePath">The absolute path of <paramref name="scope"/>, or null for an object inside an array.</param>
    /// <param name="braced">Whether a closing brace ends the body.</param>
    private void ReadObjectBody(HoconObject scope, IReadOnlyList<string>? scopePath, bool braced)
    {
        while (true)
        {
            SkipBlank(commas: true);
            if (AtEnd)
            {
                if (braced)
                {
                    throw Error("expected '}' before the end of the file");
                }

                return;
            }

            if (Peek() == '}')
            {
                if (!braced)
                {
                    throw Error("unexpected '}' (no object is open)");
                }

                Next();
                return;
            }

            if (AtInclude())
            {
                ReadInclude(scope, scopePath);
            }
            else
            {
                ReadField(scope, scopePath);
            }

            SkipInlineWhitespace();
            if (!AtEnd && Peek() is not ('\n' or '\r' or ',' or '}') && !AtComment())
            {
                throw Error($"unexpected '{Peek()}' after a value; put one field per line or separate fields with ','");
            }
        }
    }

    private bool AtInclude()
    {
        if (string.CompareOrdinal(_text, _pos, "include", 0, 7) != 0)
        {
            return false;
        }

        var after = _pos + 7;
        while (after < _text.Length && _text[after] is ' ' or '\t')
        {
            after++;
        }

        return after > _pos + 7 && after < _text.Length
            && (_text[after] == '"' || string.CompareOrdinal(_text, after, "required(", 0, 9) == 0 || string.CompareOrdinal(_text, after, "file(", 0, 5) == 0);
    }

    private void ReadInclude(HoconObject scope, IReadOnlyList<string>? scopePath)
    {
        var origin = HereLine;
        _pos += 7;
        _column += 7;
        SkipInlineWhitespace();
        var required = false;
        var closers = 0;
        if (TryConsume("required("))
        {
            required = true;
            closers++;
            SkipInlineWhitespace();
        }

        if (TryConsume("file("))
        {
            closers++;
            SkipInlineWhitespace();
        }

        if (Peek() != '"')
        {
            throw Error("include needs a quoted file name: include \"file.hocon\"");
        }

        var name = ReadQuoted();
        for (var i = 0; i < closers; i++)
        {
            SkipInlineWhitespace();
            if (Peek() != ')')
            {
                throw Error("expected ')' to close the include");
            }

            Next();
        }

        var path = Path.GetFullPath(Path.Combine(_directory ?? Environment.CurrentDirectory, name));
        if (!File.Exists(path))
        {
            // HOCON: a missing include is silently ignored unless it is required(...).
            if (required)
            {
                throw Error(origin, $"included file '{name}' does not exist ({path})");
            }

            return;
        }

        if (_includeStack.Contains(path, StringComparer.Ordinal))
        {
            throw Error(origin, $"'{name}' includes itself (through {string.Join(" -> ", _includeStack.Select(Path.GetFileName))})");
        }

        if (scopePath is null)
        {
            throw Error(origin, "include is not supported inside an object in an array");
        }

        // Substitutions in an included file are relative to the root, so the file's own
        // paths get the include point as prefix (as HOCON specifies).
        ReadFile(path, scope, scopePath, _includeStack, [.. _substitutionPrefix, .. scopePath]);
    }

    private bool TryConsume(string word)
    {
        if (string.CompareOrdinal(_text, _pos, word, 0, word.Length) != 0)
        {
            return false;
        }

        for (var i = 0; i < word.Length; i++)
        {
            Next();
        }

        return true;
    }

    private void ReadField(HoconObject scope, IReadOnlyList<string>? scopePath)
    {
        var keyOrigin = HereLine;
        var key = ReadKey();
        SkipInlineWhitespace();
        var append = false;
        if (Peek() == '{')
        {
            // "key { ... }": no separator needed before an object.
        }
        else if (Peek() is '=' or ':')
        {
            Next();
        }
        else if (Peek() == '+' && Peek(1) == '=')
        {
            Next();
            Next();
            append = true;
        }
        else
        {
            throw Error($"expected '=', ':' or '{{' after the key '{string.Join('.', key)}'");
        }

        SkipInlineWhitespace();
        IReadOnlyList<string>? absolute = scopePath is null ? null : [.. scopePath, .. key];
        if (Peek() == '{' && !append)
        {
            Next();
            var target = ObjectAt(scope, key, keyOrigin);
            ReadObjectBody(target, absolute, braced: true);
            SkipInlineWhitespace();
            if (!AtEnd && Peek() is not ('\n' or '\r' or ',' or '}') && !AtComment())
            {
                throw Error("an object followed by more values on the same line is not supported");
            }

            return;
        }

        var previous = ValueAt(scope, key);
        var value = ReadValue(absolute, previous);
        if (value is null)
        {
            return;
        }

        if (append)
        {
            // a += b means a = ${?a} [b].
            var item = new HoconArray([value], value.Origin);
            value = previous is null ? item : new HoconConcatenation([previous, item], value.Origin);
        }

        Assign(scope, key, value);
    }

    private List<string> ReadKey()
    {
        var segments = new List<string>();
        var segment = new StringBuilder();
        var any = false;
        while (!AtEnd)
        {
            var c = Peek();
            if (c == '"')
            {
                segment.Append(ReadQuoted());
                any = true;
            }
            else if (c == '.')
            {
                if (!any)
                {
                    throw Error("empty key segment (two dots, or a dot at the start of a key)");
                }

                Next();
                segments.Add(segment.ToString());
                segment.Clear();
                any = false;
            }
            else if (c is ' ' or '\t' or '\n' or '\r' || Forbidden.Contains(c, StringComparison.Ordinal) || AtComment())
            {
                break;
            }
            else
            {
                segment.Append(Next());
                any = true;
            }
        }

        if (!any)
        {
            throw AtEnd ? Error("expected a key") : Error($"expected a key, found '{Peek()}'");
        }

        segments.Add(segment.ToString());
        return segments;
    }

    /// <summary>A value: one or more parts on one line (strings, substitutions, arrays, objects).</summary>
    /// <param name="selfPath">The absolute path being assigned, to detect self-references; null inside arrays.</param>
    /// <param name="previous">The value defined earlier at that path, which a self-reference stands for.</param>
    /// <returns>The value, or null when it was only an optional self-reference with nothing earlier.</returns>
    private HoconValue? ReadValue(IReadOnlyList<string>? selfPath, HoconValue? previous)
    {
        var origin = HereLine;
        var parts = new List<HoconValue>();
        var droppedSelfReference = false;
        while (!AtEnd)
        {
            var c = Peek();
            if (c is ' ' or '\t')
            {
                var wsOrigin = HereLine;
                var start = _pos;
                SkipInlineWhitespace();
                if (AtValueEnd())
                {
                    break;
                }

                parts.Add(new HoconWhitespace(_text[start.._pos], wsOrigin));
                continue;
            }

            if (AtValueEnd())
            {
                break;
            }

            var partOrigin = HereLine;
            if (c == '"')
            {
                var text = Peek(1) == '"' && Peek(2) == '"' ? ReadTripleQuoted() : ReadQuoted();
                parts.Add(new HoconScalar(text, quoted: true, partOrigin));
            }
            else if (c == '$' && Peek(1) == '{')
            {
                var substitution = ReadSubstitution();
                if (selfPath is not null && substitution.Path.SequenceEqual(selfPath))
                {
                    // A self-reference stands for the value defined earlier at the same path.
                    if (previous is not null)
                    {
                        parts.Add(previous);
                    }
                    else if (!substitution.Optional)
                    {
                        throw Error(partOrigin, $"{substitution} refers to itself but has no earlier value");
                    }
                    else
                    {
                        droppedSelfReference = true;
                    }
                }
                else
                {
                    parts.Add(substitution);
                }
            }
            else if (c == '[')
            {
                parts.Add(ReadArray());
            }
            else if (c == '{')
            {
                Next();
                var detached = new HoconObject(partOrigin);
                ReadObjectBody(detached, null, braced: true);
                parts.Add(detached);
            }
            else
            {
                var text = ReadUnquoted();
                if (text.Length == 0)
                {
                    throw Error($"unexpected '{c}' in a value (quote the value if it contains {Forbidden})");
                }

                parts.Add(new HoconScalar(text, quoted: false, partOrigin));
            }
        }

        if (parts.Count == 0)
        {
            // Only a self-reference ${?x} without an earlier value: the field stays undefined.
            if (droppedSelfReference)
            {
                return null;
            }

            throw AtEnd ? Error("expected a value before the end of the file") : Error($"expected a value, found '{Peek()}'");
        }

        if (parts.Count == 1)
        {
            return parts[0] is HoconScalar { Quoted: false, Text: "null" } ? new HoconScalar(null, quoted: false, parts[0].Origin) : parts[0];
        }

        return new HoconConcatenation(parts, origin);
    }

    private bool AtValueEnd() => AtEnd || Peek() is '\n' or '\r' or ',' or '}' or ']' || AtComment();

    private bool AtComment() => Peek() == '#' || (Peek() == '/' && Peek(1) == '/');

    private string ReadUnquoted()
    {
        var start = _pos;
        while (!AtEnd)
        {
            var c = Peek();
            if (c is ' ' or '\t' or '\n' or '\r' || Forbidden.Contains(c, StringComparison.Ordinal) || AtComment())
            {
                break;
            }

            Next();
        }

        return _text[start.._pos];
    }

    private HoconArray ReadArray()
    {
        var start = Here;
        var origin = start.WithoutColumn();
        Next();
        var items = new List<HoconValue>();
        while (true)
        {
            SkipBlank(commas: true);
            if (AtEnd)
            {
                throw Error(start, "the array is not closed with ']'");
            }

            if (Peek() == ']')
            {
                Next();
                return new HoconArray(items, origin);
            }

            items.Add(ReadValue(null, null)!);
            SkipInlineWhitespace();
            if (!AtEnd && Peek() is not ('\n' or '\r' or ',' or ']') && !AtComment())
            {
                throw Error($"expected ',' or ']' in an array, found '{Peek()}'");
            }
        }
    }

    private HoconSubstitution ReadSubstitution()
    {
        var origin = HereLine;
        Next();
        Next();
        var optional = false;
        if (Peek() == '?')
        {
            Next();
            optional = true;
        }

        SkipInlineWhitespace();
        var path = ReadKey();
        SkipInlineWhitespace();
        if (Peek() != '}')
        {
            throw Error("expected '}' to close the substitution");
        }

        Next();
        return new HoconSubstitution([.. _substitutionPrefix, .. path], optional, origin);
    }

    private string ReadQuoted()
    {
        var origin = Here;
        Next();
        var text = new StringBuilder();
        while (true)
        {
            if (AtEnd || Peek() == '\n')
            {
                throw Error(origin, "the quoted string is not closed on its line");
            }

            var c = Next();
            if (c == '"')
            {
                return text.ToString();
            }

            if (c != '\\')
            {
                text.Append(c);
                continue;
            }

            if (AtEnd)
            {
                throw Error(origin, "the quoted string is not closed");
            }

            var escapeOrigin = Here;
            var e = Next();
            switch (e)
            {
                case '"': text.Append('"'); break;
                case '\\': text.Append('\\'); break;
                case '/': text.Append('/'); break;
                case 'b': text.Append('\b'); break;
                case 'f': text.Append('\f'); break;
                case 'n': text.Append('\n'); break;
                case 'r': text.Append('\r'); break;
                case 't': text.Append('\t'); break;
                case 'u':
                    if (_pos + 4 > _text.Length || !ushort.TryParse(_text.AsSpan(_pos, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                    {
                        throw Error(escapeOrigin, "\\u must be followed by four hex digits");
                    }

                    for (var i = 0; i < 4; i++)
                    {
                        Next();
                    }

                    text.Append((char)code);
                    break;
                default:
                    throw Error(escapeOrigin, $"unknown escape '\\{e}' in a quoted string");
            }
        }
    }

    private string ReadTripleQuoted()
    {
        var origin = Here;
        Next();
        Next();
        Next();
        var start = _pos;
        var close = _text.IndexOf("\"\"\"", _pos, StringComparison.Ordinal);
        if (close < 0)
        {
            throw Error(origin, "the triple-quoted string is not closed with \"\"\"");
        }

        // Quotes just before the closing three belong to the string ("""a"""" is a").
        while (close + 3 < _text.Length && _text[close + 3] == '"')
        {
            close++;
        }

        while (_pos < close + 3)
        {
            Next();
        }

        return _text[start..close];
    }

    private void SkipInlineWhitespace()
    {
        while (!AtEnd && Peek() is ' ' or '\t' or '\uFEFF')
        {
            Next();
        }
    }

    /// <summary>Whitespace, newlines and comments (and commas between fields or items).</summary>
    private void SkipBlank(bool commas = false)
    {
        while (!AtEnd)
        {
            var c = Peek();
            if (char.IsWhiteSpace(c) || c == '\uFEFF' || (commas && c == ','))
            {
                Next();
            }
            else if (AtComment())
            {
                while (!AtEnd && Peek() != '\n')
                {
                    Next();
                }
            }
            else
            {
                return;
            }
        }
    }

    /// <summary>The value currently defined at <paramref name="key"/> under <paramref name="scope"/>, if any.</summary>
    private static HoconValue? ValueAt(HoconObject scope, IReadOnlyList<string> key)
    {
        HoconValue? current = scope;
        foreach (var segment in key)
        {
            current = current switch
            {
                HoconObject o => o.Fields.GetValueOrDefault(segment),
                HoconOverlay { Over: HoconObject over } => over.Fields.GetValueOrDefault(segment),
                _ => null,
            };
            if (current is null)
            {
                return null;
            }
        }

        return current;
    }

    /// <summary>The object at <paramref name="key"/>, created (or made to replace a non-object) as needed.</summary>
    private static HoconObject ObjectAt(HoconObject scope, IReadOnlyList<string> key, ConfigOrigin origin)
    {
        var current = scope;
        foreach (var segment in key)
        {
            current.Fields.TryGetValue(segment, out var existing);
            switch (existing)
            {
                case HoconObject o:
                    current = o;
                    break;
                case HoconOverlay { Over: HoconObject over }:
                    current = over;
                    break;
                case HoconSubstitution or HoconConcatenation or HoconOverlay:
                    // Only resolution can tell whether the earlier value is an object to merge into.
                    var later = new HoconObject(origin);
                    current.Fields[segment] = new HoconOverlay(existing, later);
                    current = later;
                    break;
                default:
                    var created = new HoconObject(origin);
                    current.Fields[segment] = created;
                    current = created;
                    break;
            }
        }

        return current;
    }

    /// <summary>Sets <paramref name="key"/> under <paramref name="scope"/> as a later definition would.</summary>
    internal static void AssignAt(HoconObject scope, IReadOnlyList<string> key, HoconValue value) => Assign(scope, key, value);

    private static void Assign(HoconObject scope, IReadOnlyList<string> key, HoconValue value)
    {
        var parent = ObjectAt(scope, key.Take(key.Count - 1).ToList(), value.Origin);
        var last = key[^1];
        parent.Fields.TryGetValue(last, out var existing);
        parent.Fields[last] = (existing, value) switch
        {
            (null, _) => value,
            (HoconObject earlier, HoconObject later) => Merge(earlier, later),
            (_, HoconScalar or HoconArray) => value,
            (HoconScalar or HoconArray, HoconObject) => value,
            _ => new HoconOverlay(existing, value),
        };
    }

    /// <summary>Merges <paramref name="later"/> into <paramref name="earlier"/> (later fields win, objects merge).</summary>
    internal static HoconObject Merge(HoconObject earlier, HoconObject later)
    {
        foreach (var (key, value) in later.Fields)
        {
            Assign(earlier, [key], value);
        }

        return earlier;
    }
}
