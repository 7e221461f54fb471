using System.Formats.Tar;
using ImageActors.Streaming.Archives;
using ImageActors.Streaming.Compression;
using ImageActors.Streaming.Images;

namespace ImageActors.Streaming.Tests;

public sealed class UnpackTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public UnpackTests() => Directory.CreateDirectory(Outside);

    public void Dispose() => _dir.Dispose();

    private string Target => _dir["target"];

    private string Outside => _dir["outside"];

    private static byte[] Tar(Action<TarWriter> write, CompressionAlgorithm algorithm = CompressionAlgorithm.Xz)
    {
        var output = new MemoryStream();
        using (var compressor = Codecs.Compress(output, algorithm, leaveOpen: true))
        using (var writer = new TarWriter(compressor, TarEntryFormat.Pax, leaveOpen: true))
        {
            write(writer);
        }

        return output.ToArray();
    }

    private static void File(TarWriter writer, string name, byte[]? content = null, UnixFileMode mode = (UnixFileMode)0b110_100_100) =>
        writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content ?? "x"u8.ToArray()), Mode = mode });

    private static void Link(TarWriter writer, TarEntryType type, string name, string target) =>
        writer.WriteEntry(new PaxTarEntry(type, name) { LinkName = target });

    private UnsafeArchiveEntryException Refused(byte[] archive, UnpackOptions? options = null) =>
        Assert.Throws<UnsafeArchiveEntryException>(() => ArchiveUnpacker.Unpack(new MemoryStream(archive), Target, options));

    private void AssertNothingWritten()
    {
        Assert.Empty(Directory.EnumerateFileSystemEntries(Outside));
        Assert.False(Directory.Exists(Target));
    }

    [Fact]
    public void An_absolute_path_is_refused_and_nothing_is_written()
    {
        var archive = Tar(w =>
        {
            File(w, "rootfs/ok");
            File(w, Path.Combine(Outside, "evil"));
        });

        var error = Refused(archive);

        Assert.Equal(UnsafeEntryReason.AbsolutePath, error.Reason);
        Assert.Equal(Path.Combine(Outside, "evil"), error.EntryPath);
        AssertNothingWritten();
    }

    [Theory]
    [InlineData("../outside/evil")]
    [InlineData("rootfs/../../outside/evil")]
    [InlineData("./rootfs/./../../outside/evil")]
    public void Dot_dot_traversal_is_refused_and_nothing_is_written(string name)
    {
        var error = Refused(Tar(w => File(w, name)));

        Assert.Equal(UnsafeEntryReason.PathTraversal, error.Reason);
        Assert.Equal(name, error.EntryPath);
        AssertNothingWritten();
    }

    [Fact]
    public void A_symlink_escaping_the_root_is_refused()
    {
        var error = Refused(Tar(w => Link(w, TarEntryType.SymbolicLink, "rootfs/evil", "../../outside")));

        Assert.Equal(UnsafeEntryReason.EscapingSymlink, error.Reason);
        Assert.Equal("rootfs/evil", error.EntryPath);
        AssertNothingWritten();
    }

    [Theory]
    [InlineData("absolute")]
    [InlineData("relative")]
    public void An_entry_written_through_an_earlier_symlink_is_refused_and_nothing_is_written(string kind)
    {
        var archive = Tar(w =>
        {
            if (kind == "absolute")
            {
                // Absolute links are normal in a rootfs (they mean a path inside the instance); following one is not.
                Link(w, TarEntryType.SymbolicLink, "rootfs/escape", Outside);
            }
            else
            {
                Link(w, TarEntryType.SymbolicLink, "rootfs/escape", "../rootfs");
            }

            File(w, "rootfs/escape/evil");
        });

        var error = Refused(archive);

        Assert.Equal(UnsafeEntryReason.ThroughSymlink, error.Reason);
        Assert.Equal("rootfs/escape/evil", error.EntryPath);
        AssertNothingWritten();
    }

    [Fact]
    public void A_symlink_entry_replaced_by_a_file_is_not_followed()
    {
        var archive = Tar(w =>
        {
            Link(w, TarEntryType.SymbolicLink, "rootfs/passwd", Path.Combine(Outside, "passwd"));
            File(w, "rootfs/passwd", "replaced"u8.ToArray());
        });
        System.IO.File.WriteAllText(Path.Combine(Outside, "passwd"), "original");

        ArchiveUnpacker.Unpack(new MemoryStream(archive), Target);

        Assert.Equal("original", System.IO.File.ReadAllText(Path.Combine(Outside, "passwd")));
        Assert.Equal("replaced", System.IO.File.ReadAllText(Path.Combine(Target, "rootfs/passwd")));
        Assert.Null(new FileInfo(Path.Combine(Target, "rootfs/passwd")).LinkTarget);
    }

    [Theory]
    [InlineData("../outside/secret")]
    [InlineData("/etc/passwd")]
    public void A_hard_link_to_outside_the_archive_is_refused(string target)
    {
        System.IO.File.WriteAllText(Path.Combine(Outside, "secret"), "s");

        var error = Refused(Tar(w => Link(w, TarEntryType.HardLink, "rootfs/h", target)));

        Assert.Equal(UnsafeEntryReason.EscapingHardLink, error.Reason);
        Assert.Equal("rootfs/h", error.EntryPath);
        Assert.Equal(["secret"], Directory.EnumerateFileSystemEntries(Outside).Select(Path.GetFileName));
        Assert.False(Directory.Exists(Target));
    }

    [Fact]
    public void A_device_node_is_refused_unless_devices_are_allowed()
    {
        var archive = Tar(w => w.WriteEntry(new PaxTarEntry(TarEntryType.CharacterDevice, "rootfs/dev/null") { DeviceMajor = 1, DeviceMinor = 3, Mode = (UnixFileMode)0b110_110_110 }));

        var error = Refused(archive);
        var allowed = ArchiveUnpacker.Unpack(new MemoryStream(archive), Target, new UnpackOptions(AllowDevices: true));

        Assert.Equal(UnsafeEntryReason.DeviceNode, error.Reason);
        Assert.Equal(1, allowed.Entries);
        if (Environment.UserName == "root")
        {
            Assert.Equal("c", Shell.Run($"stat -c %F {Shell.Q(Path.Combine(Target, "rootfs/dev/null"))}").Trim()[..1]);
        }
    }

    [Fact]
    public void An_archive_past_the_size_limit_is_refused_before_the_big_file_is_written()
    {
        var archive = Tar(w => File(w, "rootfs/big", new byte[3 << 20]), CompressionAlgorithm.Zstd);

        var error = Refused(archive, new UnpackOptions(new UnpackLimits(MaxTotalBytes: 1 << 20)));

        Assert.Equal(UnsafeEntryReason.TooLarge, error.Reason);
        Assert.Equal("rootfs/big", error.EntryPath);
        AssertNothingWritten();
    }

    [Fact]
    public void An_archive_past_the_entry_limit_is_refused()
    {
        var archive = Tar(w =>
        {
            for (var i = 0; i < 200; i++)
            {
                File(w, $"rootfs/f{i}");
            }
        });

        var error = Refused(archive, new UnpackOptions(new UnpackLimits(MaxEntries: 100)));

        Assert.Equal(UnsafeEntryReason.TooManyEntries, error.Reason);
        Assert.Equal("rootfs/f100", error.EntryPath);
        AssertNothingWritten();
    }

    [Fact]
    public void A_decompression_bomb_is_refused_by_the_ratio_limit_while_it_unpacks()
    {
        // 64 MiB of zeros compress to a few KiB with zstd.
        var archive = Tar(w => File(w, "rootfs/zeros", new byte[64 << 20]), CompressionAlgorithm.Zstd);

        var error = Refused(archive, new UnpackOptions(new UnpackLimits(MaxCompressionRatio: 100, RatioGraceBytes: 4 << 20)));

        Assert.Equal(UnsafeEntryReason.CompressionRatio, error.Reason);
        AssertNothingWritten();
    }

    [Fact]
    public void A_truncated_archive_fails_with_the_codecs_typed_error_and_leaves_no_target()
    {
        var archive = Tar(w => File(w, "rootfs/data", TestData.Mixed(6 << 20)), CompressionAlgorithm.Zstd);

        var error = Assert.Throws<TruncatedStreamException>(() => ArchiveUnpacker.Unpack(new MemoryStream(archive[..(archive.Length * 2 / 3)]), Target));

        Assert.Equal("zstd", error.Format);
        AssertNothingWritten();
    }

    [Fact]
    public void A_refused_archive_leaves_an_existing_empty_target_empty()
    {
        Directory.CreateDirectory(Target);

        Refused(Tar(w =>
        {
            File(w, "rootfs/a");
            File(w, "rootfs/../../outside/evil");
        }));

        Assert.True(Directory.Exists(Target));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Target));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Outside));
    }

    [Fact]
    public void Modes_times_links_owners_and_xattrs_are_kept_like_gnu_tar_keeps_them()
    {
        // A tree made and packed by GNU tar, unpacked by tar and by us: the listings must match.
        var src = _dir["src"];
        Shell.Run($"""
            set -e
            mkdir -p {Shell.Q(src)}/rootfs/etc {Shell.Q(src)}/rootfs/usr/bin {Shell.Q(src)}/rootfs/ro
            echo hello > {Shell.Q(src)}/rootfs/etc/hostname
            printf 'a%.0s' $(seq 1 3000) > {Shell.Q(src)}/rootfs/usr/bin/tool
            chmod 4755 {Shell.Q(src)}/rootfs/usr/bin/tool
            ln {Shell.Q(src)}/rootfs/usr/bin/tool {Shell.Q(src)}/rootfs/usr/bin/tool-hardlink
            ln -s /proc/self/mounts {Shell.Q(src)}/rootfs/etc/mtab
            ln -s ../usr/bin {Shell.Q(src)}/rootfs/etc/bin
            chmod 555 {Shell.Q(src)}/rootfs/ro
            setfattr -n user.origin -v fixture {Shell.Q(src)}/rootfs/etc/hostname 2>/dev/null || true
            chown -h 1234:4321 {Shell.Q(src)}/rootfs/etc/hostname {Shell.Q(src)}/rootfs/etc/mtab 2>/dev/null || true
            touch -h -d @1600000000 {Shell.Q(src)}/rootfs/etc/mtab {Shell.Q(src)}/rootfs/etc/hostname {Shell.Q(src)}/rootfs/ro {Shell.Q(src)}/rootfs/etc
            cd {Shell.Q(src)} && tar --xattrs --numeric-owner -cJf ../image.tar.xz rootfs
            mkdir ../by-tar && cd ../by-tar && tar --xattrs --xattrs-include='*' --numeric-owner -xJf ../image.tar.xz
            """);

        var result = ArchiveUnpacker.UnpackFile(_dir["image.tar.xz"], Target);

        // .NET keeps times in 100 ns ticks: compare to the microsecond.
        const string listing = "find . -mindepth 1 -printf '%p %M %U %G %s %T@ %l %n\\n' | sed -E 's/([0-9]+[.][0-9]{6})[0-9]*/\\1/' | sort";
        Assert.Equal(Shell.Run(listing, _dir["by-tar"]), Shell.Run(listing, Target));
        Assert.Equal(0, result.SkippedXattrs);
        if (Shell.Has("getfattr") && Environment.UserName == "root")
        {
            Assert.Contains("fixture", Shell.Run($"getfattr -n user.origin --only-values {Shell.Q(Path.Combine(Target, "rootfs/etc/hostname"))}"), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_squashfs_rootfs_unpacks_through_unsquashfs()
    {
        var squashfs = Path.Combine(AppContext.BaseDirectory, "Fixtures", "split-rootfs.squashfs");

        var result = ArchiveUnpacker.UnpackFile(squashfs, Target);

        Assert.Equal("fixture\n", System.IO.File.ReadAllText(Path.Combine(Target, "etc/hostname")));
        Assert.Equal("/proc/self/mounts", new FileInfo(Path.Combine(Target, "etc/mtab")).LinkTarget);
        Assert.True(result.Entries >= 5);
    }

    [Fact]
    public void A_squashfs_with_an_escaping_symlink_is_refused_and_removed()
    {
        Shell.Run($"mkdir -p {Shell.Q(_dir["sq/etc"])} && ln -s ../../../outside {Shell.Q(_dir["sq/etc/evil"])} && mksquashfs {Shell.Q(_dir["sq"])} {Shell.Q(_dir["evil.squashfs"])} -quiet -noappend >/dev/null");

        var error = Assert.Throws<UnsafeArchiveEntryException>(() => ArchiveUnpacker.UnpackFile(_dir["evil.squashfs"], Target));

        Assert.Equal(UnsafeEntryReason.EscapingSymlink, error.Reason);
        Assert.Equal("etc/evil", error.EntryPath);
        AssertNothingWritten();
    }

    [Theory]
    [InlineData(CompressionAlgorithm.Gzip)]
    [InlineData(CompressionAlgorithm.Zstd)]
    [InlineData(CompressionAlgorithm.Lz4)]
    [InlineData(CompressionAlgorithm.Bzip2)]
    [InlineData(CompressionAlgorithm.Lzma)]
    [InlineData(CompressionAlgorithm.None)]
    public void A_unified_image_repacked_with_another_compression_holds_the_same_image(CompressionAlgorithm algorithm)
    {
        var original = Path.Combine(AppContext.BaseDirectory, "Fixtures", "unified.tar.xz");
        var repacked = new MemoryStream();

        using (var source = System.IO.File.OpenRead(original))
        {
            ArchiveUnpacker.Repack(source, repacked, algorithm);
        }

        repacked.Position = 0;
        var contents = ImageInspector.InspectUnified(repacked);
        Assert.Equal(algorithm.Format(), contents.MetadataFormat);
        Assert.Equal(ImageInspector.Inspect(original).Metadata.Properties, contents.Metadata.Properties);
        Assert.Equal(ImageType.Container, contents.Type);
        repacked.Position = 0;
        Assert.Equal(TarBytes(System.IO.File.OpenRead(original)), TarBytes(repacked));
    }

    private static byte[] TarBytes(Stream compressed)
    {
        using var tar = Codecs.DecompressTarball(compressed, out _);
        var output = new MemoryStream();
        tar.CopyTo(output);
        return output.ToArray();
    }
}
