using System.Security.Cryptography;
using System.Text;
using ImageActors.Remotes.Download;
using ImageActors.Remotes.Incus;

namespace ImageActors.Remotes.Tests.Incus;

public sealed class ImageUploadContentTests
{
    [Fact]
    public async Task A_split_virtual_machine_upload_is_multipart_metadata_then_rootfs_img_with_the_bytes_unchanged()
    {
        var metadata = RandomNumberGenerator.GetBytes(5_000);
        var disk = RandomNumberGenerator.GetBytes(700_000);
        using var content = ImageUploadContent.Split(Open(metadata), "meta.tar.xz", Open(disk), "disk.qcow2", virtualMachine: true);
        content.ExpectedFingerprint = Sha256(metadata, disk);

        var body = await content.ReadAsByteArrayAsync();
        using var reader = new MultipartReader(new MemoryStream(body), MultipartReader.BoundaryOf(content.Headers.ContentType)!);
        var first = await reader.ReadNextSectionAsync();
        var firstBytes = await ReadAllAsync(first!.Body);
        var second = await reader.ReadNextSectionAsync();
        var secondBytes = await ReadAllAsync(second!.Body);

        Assert.Equal("metadata", first.Name);
        Assert.Equal(metadata, firstBytes);
        Assert.Equal("rootfs.img", second.Name);
        Assert.Equal(disk, secondBytes);
        Assert.Null(await reader.ReadNextSectionAsync());
    }

    [Fact]
    public async Task An_upload_whose_bytes_do_not_hash_to_the_expected_fingerprint_stops_before_the_closing_boundary()
    {
        var metadata = RandomNumberGenerator.GetBytes(5_000);
        var rootfs = RandomNumberGenerator.GetBytes(50_000);
        using var content = ImageUploadContent.Split(Open(metadata), "meta", Open(rootfs), "rootfs", virtualMachine: false);
        content.ExpectedFingerprint = Sha256(metadata, metadata);
        var written = new MemoryStream();

        var error = await Assert.ThrowsAsync<FingerprintMismatchException>(() => content.CopyToAsync(written));

        Assert.Equal(Sha256(metadata, rootfs), error.Actual);
        var boundary = MultipartReader.BoundaryOf(content.Headers.ContentType)!;
        Assert.DoesNotContain("--" + boundary + "--", Encoding.Latin1.GetString(written.ToArray()), StringComparison.Ordinal);
        Assert.EndsWith(Encoding.Latin1.GetString(rootfs[^64..]), Encoding.Latin1.GetString(written.ToArray()), StringComparison.Ordinal);
    }

    private static Func<CancellationToken, ValueTask<Stream>> Open(byte[] bytes) => _ => ValueTask.FromResult<Stream>(new MemoryStream(bytes));

    private static string Sha256(byte[] first, byte[] second) => Convert.ToHexStringLower(SHA256.HashData([.. first, .. second]));

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }
}
