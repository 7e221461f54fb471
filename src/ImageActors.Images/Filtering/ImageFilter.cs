using System.Globalization;
using System.Text.RegularExpressions;
using ImageActors.Images.Domain;

namespace ImageActors.Images.Filtering;

/// <summary>
/// An Incus <c>filter=</c> expression over image records, e.g.
/// <c>properties.os eq Debian and not public eq true</c>.
/// </summary>
/// <remarks>
/// Grammar: <c>clause := [not] field (eq|ne) value</c>, clauses joined by <c>and</c> / <c>or</c>.
/// As in Incus, the joins are evaluated left to right without precedence (<c>a or b and c</c>
/// is <c>(a or b) and c</c>); parentheses group explicitly. Values may be quoted with <c>"</c>
/// or <c>'</c> to hold spaces. String values are anchored regular expressions (Incus adds
/// <c>^…$</c> unless the value already has one); a value that is not a valid expression is
/// compared literally. Fields are the JSON names of the image object; maps and nested objects
/// take dotted paths (<c>properties.os</c>, <c>update_source.alias</c>); list fields
/// (<c>aliases</c>, <c>profiles</c>) match when any element does.
/// </remarks>
public sealed class ImageFilter
{
    private readonly Node _root;

    private ImageFilter(string expression, Node root)
    {
        Expression = expression;
        _root = root;
    }

    /// <summary>The expression as given.</summary>
    public string Expression { get; }

    /// <summary>Parses <paramref name="expression"/>.</summary>
    /// <exception cref="InvalidFilterException">It is malformed or names an unknown field; the message says where.</exception>
    public static ImageFilter Parse(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var tokens = Tokenize(expression);
        if (tokens.Count == 0)
        {
            throw new InvalidFilterException(expression, "empty expression");
        }

        var parser = new Parser(expression, tokens);
        var root = parser.ParseSequence();
        if (!parser.AtEnd)
        {
            throw new InvalidFilterException(expression, $"unexpected \"{parser.Current.Text}\"");
        }

        return new ImageFilter(expression, root);
    }

    /// <summary>Whether <paramref name="image"/> satisfies the expression.</summary>
    public bool Matches(ImageRecord image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return _root.Evaluate(image);
    }

    /// <inheritdoc />
    public override string ToString() => Expression;

    private static List<Token> Tokenize(string expression)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < expression.Length)
        {
            var c = expression[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c == '(' && !AfterOperator(tokens))
            {
                tokens.Add(new Token(TokenKind.Open, "("));
                i++;
            }
            else if (c is '"' or '\'')
            {
                var end = expression.IndexOf(c, i + 1);
                if (end < 0)
                {
                    throw new InvalidFilterException(expression, "unterminated quote");
                }

                tokens.Add(new Token(TokenKind.Quoted, expression[(i + 1)..end]));
                i = end + 1;
            }
            else
            {
                var start = i;
                while (i < expression.Length && !char.IsWhiteSpace(expression[i]))
                {
                    i++;
                }

                // Trailing ')' close groups, unless the word itself opened them (a value like "x(y)").
                var word = expression[start..i];
                var closers = 0;
                var depth = word.Count(ch => ch == '(');
                while (word.Length > 0 && word[^1] == ')' && word.Count(ch => ch == ')') > depth)
                {
                    word = word[..^1];
                    closers++;
                }

                if (word.Length > 0)
                {
                    tokens.Add(new Token(TokenKind.Word, word));
                }

                for (var k = 0; k < closers; k++)
                {
                    tokens.Add(new Token(TokenKind.Close, ")"));
                }
            }
        }

        return tokens;
    }

    // After "eq"/"ne" a '(' starts a value such as "(Debian|Ubuntu)", not a group.
    private static bool AfterOperator(List<Token> tokens) => tokens.Count > 0 && (tokens[^1].Is("eq") || tokens[^1].Is("ne"));

    private enum TokenKind
    {
        Word,
        Quoted,
        Open,
        Close,
    }

    private sealed record Token(TokenKind Kind, string Text)
    {
        public bool Is(string keyword) => Kind == TokenKind.Word && string.Equals(Text, keyword, StringComparison.OrdinalIgnoreCase);
    }

    private sealed class Parser(string expression, List<Token> tokens)
    {
        private int _position;

        public bool AtEnd => _position >= tokens.Count;

        public Token Current => tokens[_position];

        public Node ParseSequence()
        {
            var left = ParseTerm();
            while (!AtEnd && Current.Kind != TokenKind.Close)
            {
                var join = Next("\"and\" or \"or\"");
                if (join.Is("and"))
                {
                    left = new And(left, ParseTerm());
                }
                else if (join.Is("or"))
                {
                    left = new Or(left, ParseTerm());
                }
                else
                {
                    throw Error($"expected \"and\" or \"or\" before \"{join.Text}\"");
                }
            }

            return left;
        }

        private Node ParseTerm()
        {
            var token = Next("a clause");
            if (token.Is("not"))
            {
                return new Not(ParseTerm());
            }

            if (token.Kind == TokenKind.Open)
            {
                var inner = ParseSequence();
                var close = Next("\")\"");
                return close.Kind == TokenKind.Close ? inner : throw Error("expected \")\"");
            }

            if (token.Kind != TokenKind.Word)
            {
                throw Error($"expected a field name, got \"{token.Text}\"");
            }

            var field = FieldAccess.Resolve(token.Text) ?? throw Error($"unknown field \"{token.Text}\"");
            var op = Next($"an operator after \"{token.Text}\"");
            var negate = op.Is("ne") ? true : op.Is("eq") ? false : throw Error($"unknown operator \"{op.Text}\" (expected eq or ne)");
            var value = Next($"a value after \"{token.Text} {op.Text}\"");
            if (value.Kind is TokenKind.Open or TokenKind.Close)
            {
                throw Error($"expected a value after \"{token.Text} {op.Text}\"");
            }

            Node clause = new Compare(field, ValueMatcher.Create(field.Kind, value.Text, expression));
            return negate ? new Not(clause) : clause;
        }

        private Token Next(string expected) =>
            AtEnd ? throw Error($"expected {expected} at the end") : tokens[_position++];

        private InvalidFilterException Error(string reason) => new(expression, reason);
    }

    private abstract class Node
    {
        public abstract bool Evaluate(ImageRecord image);
    }

    private sealed class And(Node left, Node right) : Node
    {
        public override bool Evaluate(ImageRecord image) => left.Evaluate(image) && right.Evaluate(image);
    }

    private sealed class Or(Node left, Node right) : Node
    {
        public override bool Evaluate(ImageRecord image) => left.Evaluate(image) || right.Evaluate(image);
    }

    private sealed class Not(Node inner) : Node
    {
        public override bool Evaluate(ImageRecord image) => !inner.Evaluate(image);
    }

    private sealed class Compare(FieldAccess field, ValueMatcher matcher) : Node
    {
        public override bool Evaluate(ImageRecord image) => field.Matches(image, matcher);
    }

    /// <summary>Compares one field value with the clause's value, by the field's kind.</summary>
    private sealed class ValueMatcher
    {
        private readonly string _text;
        private readonly Regex? _pattern;
        private readonly bool? _boolean;
        private readonly long? _number;
        private readonly DateTimeOffset? _time;

        private ValueMatcher(string text, Regex? pattern, bool? boolean, long? number, DateTimeOffset? time)
        {
            _text = text;
            _pattern = pattern;
            _boolean = boolean;
            _number = number;
            _time = time;
        }

        public static ValueMatcher Create(FieldKind kind, string text, string expression) => kind switch
        {
            FieldKind.Boolean => bool.TryParse(text, out var b)
                ? new ValueMatcher(text, null, b, null, null)
                : throw new InvalidFilterException(expression, $"\"{text}\" is not a boolean (true or false)"),
            FieldKind.Number => long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
                ? new ValueMatcher(text, null, null, n, null)
                : throw new InvalidFilterException(expression, $"\"{text}\" is not a number"),
            FieldKind.Time => DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                ? new ValueMatcher(text, null, null, null, t)
                : throw new InvalidFilterException(expression, $"\"{text}\" is not a date and time"),
            _ => new ValueMatcher(text, CompilePattern(text), null, null, null),
        };

        public bool Matches(string value) => _pattern is null ? string.Equals(value, _text, StringComparison.Ordinal) : _pattern.IsMatch(value);

        public bool Matches(bool value) => _boolean == value;

        public bool Matches(long value) => _number == value;

        public bool Matches(DateTimeOffset value) => _time == value;

        private static Regex? CompilePattern(string text)
        {
            var anchored = text.Contains('^', StringComparison.Ordinal) || text.Contains('$', StringComparison.Ordinal) ? text : $"^{text}$";
            try
            {
                // Non-backtracking: the pattern comes from an untrusted query string.
                return new Regex(anchored, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
            }
            catch (ArgumentException)
            {
                return null;
            }
        }
    }

    private enum FieldKind
    {
        String,
        Boolean,
        Number,
        Time,
    }

    /// <summary>Reads one (possibly nested) field of an image record.</summary>
    private sealed class FieldAccess(FieldKind kind, Func<ImageRecord, ValueMatcher, bool> matches)
    {
        public FieldKind Kind => kind;

        public bool Matches(ImageRecord image, ValueMatcher matcher) => matches(image, matcher);

        public static FieldAccess? Resolve(string name)
        {
            var lower = name.ToLowerInvariant();
            switch (lower)
            {
                case "fingerprint": return Text(i => i.Fingerprint.ToString());
                case "filename": return Text(i => i.Filename);
                case "architecture": return Text(i => i.Architecture);
                case "type": return Text(i => i.Type.ToApiName());
                case "project": return Text(i => i.Project.Value);
                case "size": return new FieldAccess(FieldKind.Number, (i, m) => m.Matches(i.Size));
                case "public": return Flag(i => i.Public);
                case "cached": return Flag(i => i.Cached);
                case "auto_update": return Flag(i => i.AutoUpdate);
                case "created_at": return Time(i => i.CreatedAt);
                case "expires_at": return Time(i => i.ExpiresAt);
                case "last_used_at": return Time(i => i.LastUsedAt);
                case "uploaded_at": return Time(i => i.UploadedAt);
                case "aliases":
                case "aliases.name":
                    return new FieldAccess(FieldKind.String, (i, m) => i.Aliases.Any(a => m.Matches(a.Name.Value)));
                case "aliases.description":
                    return new FieldAccess(FieldKind.String, (i, m) => i.Aliases.Any(a => m.Matches(a.Description)));
                case "profiles":
                    return new FieldAccess(FieldKind.String, (i, m) => i.Profiles.Any(m.Matches));
                case "update_source.server": return Text(i => i.UpdateSource?.Server ?? string.Empty);
                case "update_source.protocol": return Text(i => i.UpdateSource is null ? string.Empty : ProtocolName(i.UpdateSource.Protocol));
                case "update_source.alias": return Text(i => i.UpdateSource?.Alias ?? string.Empty);
                case "update_source.certificate": return Text(i => i.UpdateSource?.Certificate ?? string.Empty);
                case "update_source.image_type": return Text(i => i.UpdateSource?.ImageType.ToApiName() ?? string.Empty);
                default:
                    break;
            }

            // Property keys keep their case and may contain dots (properties.requirements.cgroup).
            if (lower.StartsWith("properties.", StringComparison.Ordinal) && name.Length > "properties.".Length)
            {
                var key = name["properties.".Length..];
                return Text(i => i.Properties.TryGetValue(key, out var v) ? v : string.Empty);
            }

            return null;
        }

        private static string ProtocolName(SourceProtocol protocol) => protocol switch
        {
            SourceProtocol.Incus => "incus",
            SourceProtocol.Direct => "direct",
            SourceProtocol.SimpleStreams => "simplestreams",
            _ => "oci",
        };

        private static FieldAccess Text(Func<ImageRecord, string> read) => new(FieldKind.String, (i, m) => m.Matches(read(i)));

        private static FieldAccess Flag(Func<ImageRecord, bool> read) => new(FieldKind.Boolean, (i, m) => m.Matches(read(i)));

        private static FieldAccess Time(Func<ImageRecord, DateTimeOffset> read) => new(FieldKind.Time, (i, m) => m.Matches(read(i)));
    }
}
