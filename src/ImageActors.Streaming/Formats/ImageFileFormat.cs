namespace ImageActors.Streaming.Formats;

/// <summary>What the first bytes of an image file say it is (spec §1.6).</summary>
public enum ImageFileFormat
{
    /// <summary>None of the known magic numbers: Incus answers "Unsupported compression".</summary>
    Unknown = 0,

    /// <summary>bzip2-compressed tarball (<c>.tar.bz2</c>).</summary>
    Bzip2,

    /// <summary>gzip-compressed tarball (<c>.tar.gz</c>).</summary>
    Gzip,

    /// <summary>xz-compressed tarball (<c>.tar.xz</c>).</summary>
    Xz,

    /// <summary>Legacy lzma-compressed tarball (<c>.tar.lzma</c>).</summary>
    Lzma,

    /// <summary>zstd-compressed tarball (<c>.tar.zst</c>).</summary>
    Zstd,

    /// <summary>LZ4 frame-compressed tarball (<c>.tar.lz4</c>).</summary>
    Lz4,

    /// <summary>Uncompressed tarball (<c>.tar</c>).</summary>
    Tar,

    /// <summary>SquashFS filesystem image (<c>.squashfs</c>).</summary>
    SquashFs,

    /// <summary>QEMU qcow2 disk (<c>.qcow2</c>): a VM rootfs.</summary>
    Qcow2,

    /// <summary>VMware disk (<c>.vmdk</c>).</summary>
    Vmdk,
}
