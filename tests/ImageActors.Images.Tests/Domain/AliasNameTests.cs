using ImageActors.Images.Domain;

namespace ImageActors.Images.Tests.Domain;

public sealed class AliasNameTests
{
    [Theory]
    [InlineData("debian/12")]
    [InlineData("ubuntu/24.04/cloud")]
    [InlineData("a")]
    [InlineData("alpine-edge_x")]
    public void Names_following_the_rules_are_accepted(string name) => Assert.Equal(name, AliasName.Parse(name).Value);

    [Theory]
    [InlineData("", "empty")]
    [InlineData("has space", "whitespace")]
    [InlineData("tab\tname", "whitespace")]
    [InlineData("price$", "'$'")]
    [InlineData("what?x", "'?'")]
    [InlineData("a&b", "'&'")]
    [InlineData("a+b", "'+'")]
    [InlineData("a\"b", "'\"'")]
    [InlineData("a'b", "'''")]
    [InlineData("a\\b", "'\\'")]
    [InlineData("a*b", "'*'")]
    [InlineData("a`b", "'`'")]
    [InlineData("/debian", "start and end")]
    [InlineData("debian/", "start and end")]
    [InlineData("-x", "start and end")]
    public void Names_breaking_a_rule_are_refused_with_the_input_and_the_rule(string name, string because)
    {
        var error = Assert.Throws<InvalidAliasNameException>(() => AliasName.Parse(name));
        Assert.Equal(name, error.Name);
        Assert.Contains(because, error.Message, StringComparison.Ordinal);
        Assert.Contains($"\"{name}\"", error.Message, StringComparison.Ordinal);
        Assert.Equal(400, error.StatusCode);
    }

    [Theory]
    [InlineData("debian\u000012", "U+0000")]
    [InlineData("a\u0001b", "U+0001")]
    [InlineData("a\u001Bb", "U+001B")]
    [InlineData("a\u007Fb", "U+007F")]
    [InlineData("a\u0090b", "U+0090")]
    public void An_alias_name_with_a_control_character_is_refused_at_creation_since_the_API_cannot_address_it(string name, string character)
    {
        var error = Assert.Throws<InvalidAliasNameException>(() => AliasName.Parse(name));

        Assert.Contains($"can't contain control characters ({character})", error.Message, StringComparison.Ordinal);
        Assert.False(AliasName.TryParse(name, out _));
    }

    [Fact]
    public void Names_longer_than_64_characters_are_refused()
    {
        Assert.True(AliasName.TryParse(new string('a', 64), out _));
        Assert.False(AliasName.TryParse(new string('a', 65), out _));
    }

    [Fact]
    public void Alias_names_compare_ordinally()
    {
        Assert.NotEqual(AliasName.Parse("Debian"), AliasName.Parse("debian"));
        Assert.True(AliasName.Parse("Debian") < AliasName.Parse("debian"));
    }
}
