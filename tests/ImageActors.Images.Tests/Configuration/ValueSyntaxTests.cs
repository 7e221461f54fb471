using ImageActors.Images.Configuration;

namespace ImageActors.Images.Tests.Configuration;

public sealed class ValueSyntaxTests
{
    [Theory]
    [InlineData("6h", 6 * 3600_000L)]
    [InlineData("10d", 10 * 86_400_000L)]
    [InlineData("500ms", 500L)]
    [InlineData("30 s", 30_000L)]
    [InlineData("2 minutes", 120_000L)]
    [InlineData("1.5h", 5_400_000L)]
    [InlineData("0s", 0L)]
    [InlineData("1 day", 86_400_000L)]
    public void Durations_read_hocon_units(string text, long milliseconds)
    {
        Assert.True(ValueSyntax.TryParseDuration(text, null, out var duration));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), duration);
    }

    [Fact]
    public void A_plain_number_is_a_duration_only_where_the_key_documents_its_unit()
    {
        Assert.False(ValueSyntax.TryParseDuration("10", null, out _));
        Assert.True(ValueSyntax.TryParseDuration("10", DurationUnit.Days, out var days));
        Assert.Equal(TimeSpan.FromDays(10), days);
        Assert.True(ValueSyntax.TryParseDuration("6", DurationUnit.Hours, out var hours));
        Assert.Equal(TimeSpan.FromHours(6), hours);
    }

    [Theory]
    [InlineData("6 fortnights")]
    [InlineData("h")]
    [InlineData("")]
    [InlineData("1.2.3s")]
    public void Malformed_durations_are_refused(string text) =>
        Assert.False(ValueSyntax.TryParseDuration(text, DurationUnit.Seconds, out _));

    [Theory]
    [InlineData("10GiB", 10L << 30)]
    [InlineData("512MB", 512_000_000L)]
    [InlineData("1k", 1024L)]
    [InlineData("1K", 1024L)]
    [InlineData("1kB", 1000L)]
    [InlineData("1.5 GiB", 3L << 29)]
    [InlineData("42", 42L)]
    [InlineData("2 MiB", 2L << 20)]
    [InlineData("3m", 3L << 20)]
    public void Sizes_read_decimal_and_binary_units(string text, long bytes)
    {
        Assert.True(ValueSyntax.TryParseSize(text, out var size));
        Assert.Equal(bytes, size);
    }

    [Theory]
    [InlineData("10 GiBs")]
    [InlineData("-1k")]
    [InlineData("lots")]
    [InlineData("99999999999PiB")]
    public void Malformed_sizes_are_refused(string text) => Assert.False(ValueSyntax.TryParseSize(text, out _));

    [Theory]
    [InlineData("on", true)]
    [InlineData("off", false)]
    [InlineData("yes", true)]
    [InlineData("no", false)]
    [InlineData("true", true)]
    [InlineData("FALSE", false)]
    public void Booleans_accept_on_off_yes_no_true_false(string text, bool expected)
    {
        Assert.True(ValueSyntax.TryParseBoolean(text, out var value));
        Assert.Equal(expected, value);
    }

    [Fact]
    public void Typed_getters_read_durations_sizes_booleans_and_lists_from_a_file()
    {
        var config = HoconConfig.Parse("""
            expiry = 10d
            interval = 6h
            timeout = 500ms
            spaced = 30 s
            cache = 10GiB
            small = 512MB
            one_k = 1k
            flag = off
            list = [a, "b c", 3]
            """, "test.hocon");

        Assert.Equal(TimeSpan.FromDays(10), config.GetDuration("expiry"));
        Assert.Equal(TimeSpan.FromHours(6), config.GetDuration("interval"));
        Assert.Equal(TimeSpan.FromMilliseconds(500), config.GetDuration("timeout"));
        Assert.Equal(TimeSpan.FromSeconds(30), config.GetDuration("spaced"));
        Assert.Equal(10L << 30, config.GetSize("cache"));
        Assert.Equal(512_000_000L, config.GetSize("small"));
        Assert.Equal(1024L, config.GetSize("one_k"));
        Assert.False(config.GetBoolean("flag"));
        Assert.Equal(["a", "b c", "3"], config.GetStringList("list"));
    }

    [Fact]
    public void A_getter_given_a_bad_value_names_the_key_and_file()
    {
        var config = HoconConfig.Parse("a = 1\nflag = maybe\n", "test.hocon");

        var error = Assert.Throws<ConfigurationException>(() => config.GetBoolean("flag"));

        Assert.Equal("flag (test.hocon): 'maybe' is not a boolean (true/false, yes/no, on/off)", error.Message);
    }

    [Theory]
    [InlineData(10 * 86_400_000L, "10d")]
    [InlineData(6 * 3600_000L, "6h")]
    [InlineData(1500L, "1500ms")]
    [InlineData(0L, "0s")]
    public void Durations_format_in_their_largest_whole_unit(long milliseconds, string text) =>
        Assert.Equal(text, ValueSyntax.FormatDuration(TimeSpan.FromMilliseconds(milliseconds)));
}
