using ImageActors.Remotes.Download;

namespace ImageActors.Remotes.Tests.Download;

public sealed class DownloadProgressTests
{
    [Fact]
    public void Known_size_reads_as_percent_and_rate() =>
        Assert.Equal("45% (12.34MB/s)", new DownloadProgress("", 45, 100, 12_340_000).ToIncusText());

    [Fact]
    public void Unknown_size_reads_as_bytes_and_rate() =>
        Assert.Equal("123.45MB (5.67MB/s)", new DownloadProgress("", 123_450_000, null, 5_670_000).ToIncusText());

    [Fact]
    public void Label_prefixes_the_text_as_simplestreams_downloads_do() =>
        Assert.Equal("metadata: 50% (999B/s)", new DownloadProgress("metadata", 1, 2, 999).ToIncusText());

    [Theory]
    [InlineData(0, "0B")]
    [InlineData(999, "999B")]
    [InlineData(1000, "1.00kB")]
    [InlineData(1_234_567, "1.23MB")]
    [InlineData(1_000_000_000_000, "1.00TB")]
    public void Byte_sizes_use_decimal_units_with_two_decimals(long bytes, string text) =>
        Assert.Equal(text, DownloadProgress.FormatByteSize(bytes));
}
