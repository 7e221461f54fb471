using ImageActors.Images.Domain;
using ImageActors.Images.Filtering;

namespace ImageActors.Images.Tests.Filtering;

public sealed class ImageFilterTests
{
    private static readonly ImageRecord Debian = Images.Record(Images.Fp("abc"), properties: [("os", "Debian"), ("release", "bookworm"), ("description", "Debian 12 amd64"), ("requirements.cgroup", "v1")]) with
    {
        Public = true,
        Aliases = [new ImageAliasRef(AliasName.Parse("debian/12"), "")],
        UpdateSource = new UpdateSource("https://images.linuxcontainers.org", SourceProtocol.SimpleStreams, "debian/12", "", ImageType.Container),
    };

    [Theory]
    [InlineData("properties.os eq Debian", true)]
    [InlineData("properties.os eq Ubuntu", false)]
    [InlineData("properties.os ne Ubuntu", true)]
    [InlineData("architecture eq x86_64", true)]
    [InlineData("architecture eq i686", false)]
    [InlineData("public eq true", true)]
    [InlineData("public eq false", false)]
    [InlineData("cached eq false", true)]
    [InlineData("type eq container", true)]
    [InlineData("update_source.alias eq debian/12", true)]
    [InlineData("update_source.protocol eq simplestreams", true)]
    [InlineData("properties.requirements.cgroup eq v1", true)]
    [InlineData("aliases eq debian/12", true)]
    [InlineData("aliases.name eq debian/13", false)]
    [InlineData("size eq 100", true)]
    [InlineData("profiles eq default", true)]
    [InlineData("properties.missing eq x", false)]
    [InlineData("properties.missing ne x", true)]
    public void A_single_clause_compares_one_field(string expression, bool expected) =>
        Assert.Equal(expected, ImageFilter.Parse(expression).Matches(Debian));

    [Theory]
    [InlineData("properties.os eq Debian and public eq true", true)]
    [InlineData("properties.os eq Debian and public eq false", false)]
    [InlineData("properties.os eq Ubuntu or public eq true", true)]
    [InlineData("properties.os eq Ubuntu or properties.os eq Alpine", false)]
    [InlineData("not properties.os eq Debian", false)]
    [InlineData("not properties.os eq Ubuntu", true)]
    [InlineData("not not public eq true", true)]
    [InlineData("NOT properties.os eq Ubuntu AND public EQ true", true)]
    public void Clauses_combine_with_and_or_not(string expression, bool expected) =>
        Assert.Equal(expected, ImageFilter.Parse(expression).Matches(Debian));

    [Fact]
    public void Joins_are_evaluated_left_to_right_as_in_Incus()
    {
        // (true or false) and false → false; with "and binds tighter" it would be true.
        Assert.False(ImageFilter.Parse("public eq true or public eq false and cached eq true").Matches(Debian));
        Assert.True(ImageFilter.Parse("public eq true or (public eq false and cached eq true)").Matches(Debian));
    }

    [Theory]
    [InlineData("(properties.os eq Ubuntu or properties.os eq Debian) and public eq true", true)]
    [InlineData("not (properties.os eq Ubuntu or properties.os eq Debian)", false)]
    [InlineData("((public eq true))", true)]
    public void Parentheses_group_clauses(string expression, bool expected) =>
        Assert.Equal(expected, ImageFilter.Parse(expression).Matches(Debian));

    [Theory]
    [InlineData("properties.description eq \"Debian 12 amd64\"", true)]
    [InlineData("properties.description eq 'Debian 12 amd64'", true)]
    [InlineData("properties.description eq \"Debian 13 amd64\"", false)]
    public void Quoted_values_may_hold_spaces(string expression, bool expected) =>
        Assert.Equal(expected, ImageFilter.Parse(expression).Matches(Debian));

    [Theory]
    [InlineData("properties.release eq book.*", true)]
    [InlineData("properties.release eq book", false)]
    [InlineData("properties.release eq ^book", true)]
    [InlineData("properties.os eq (Debian|Ubuntu)", true)]
    public void String_values_are_anchored_regular_expressions(string expression, bool expected) =>
        Assert.Equal(expected, ImageFilter.Parse(expression).Matches(Debian));

    [Fact]
    public void A_value_that_is_not_a_valid_expression_is_compared_literally()
    {
        var odd = Debian with { Properties = Debian.Properties.SetItem("variant", "a[b") };
        Assert.True(ImageFilter.Parse("properties.variant eq a[b").Matches(odd));
    }

    [Fact]
    public void Fingerprint_clauses_match_the_full_hex_form() =>
        Assert.True(ImageFilter.Parse($"fingerprint eq {Debian.Fingerprint}").Matches(Debian));

    [Theory]
    [InlineData("", "empty")]
    [InlineData("properties.os", "operator")]
    [InlineData("properties.os eq", "value")]
    [InlineData("properties.os like Debian", "unknown operator \"like\"")]
    [InlineData("colour eq red", "unknown field \"colour\"")]
    [InlineData("public eq maybe", "\"maybe\" is not a boolean")]
    [InlineData("size eq big", "\"big\" is not a number")]
    [InlineData("properties.os eq Debian and", "clause")]
    [InlineData("properties.os eq Debian xor public eq true", "\"and\" or \"or\"")]
    [InlineData("(public eq true", "\")\"")]
    [InlineData("public eq true)", "unexpected")]
    [InlineData("properties.description eq \"open", "unterminated quote")]
    [InlineData("not", "clause")]
    public void Malformed_expressions_fail_with_an_error_naming_the_expression(string expression, string because)
    {
        var error = Assert.Throws<InvalidFilterException>(() => ImageFilter.Parse(expression));
        Assert.Equal(expression, error.Expression);
        Assert.Contains(because, error.Reason, StringComparison.Ordinal);
        Assert.Contains($"\"{expression}\"", error.Message, StringComparison.Ordinal);
    }
}
