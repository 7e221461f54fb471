using System.Buffers;
using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using System.Text.RegularExpressions;
using ImageActors.Streaming.Compression;
using ImageActors.Streaming.Formats;

namespace ImageActors.Streaming.Archives;

/// <summary>
/// Unpacks image tarballs (any compression) and SquashFS files into a directory without ever writing outside it:
/// names are checked before anything is created, no symlink is ever followed while writing, and bomb limits stop
/// the unpack early. On any failure the target is removed (when this call created it) or emptied again (when it
/// was an empty directory before), so a refused archive leaves nothing anywhere.
/// </summary>
public static partial class ArchiveUnpacker
{
    private const int CopySize = 1 << 20;

    /// <summary>Unpacks a file: a tarball in any supported compression, or a SquashFS image (through unsquashfs).</summary>
    /// <exception cref="UnsafeArchiveEntryException">An entry is unsafe or a limit was passed; the target is gone.</exception>
    /// <exception cref="UnsupportedImageFormatException">The file is neither.</exception>
    public static UnpackResult UnpackFile(string archivePath, string targetDirectory, UnpackOptions? options = null, CancellationToken cancellationToken = default)
    {
        var format = FormatSniffer.DetectFile(archivePath);
        if (format == ImageFileFormat.SquashFs)
        {
            return UnpackSquashFs(archivePath, targetDirectory, options, cancellationToken);
        }

        if (!format.IsTarball())
        {
            throw new UnsupportedImageFormatException(archivePath);
        }

        using var file = new FileStream(archivePath, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read, BufferSize = 0, Options = FileOptions.SequentialScan });
        return Unpack(file, targetDirectory, options, cancellationToken);
    }

    /// <summary>Unpacks a tarball (any supported compression, sniffed) read from <paramref name="archive"/>.</summary>
    /// <exception cref="UnsafeArchiveEntryException">An entry is unsafe or a limit was passed; the target is gone.</exception>
    /// <exception cref="InvalidTarHeaderException">A tar header is damaged; the target is gone.</exception>
    /// <exception cref="CorruptStreamException">The compressed stream is damaged; the target is gone.</exception>
    /// <exception cref="TruncatedStreamException">The compressed stream is cut short; the target is gone.</exception>
    public static UnpackResult Unpack(Stream archive, string targetDirectory, UnpackOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(archive);
        options ??= new UnpackOptions();
        var root = Path.GetFullPath(targetDirectory).TrimEnd('/');
        var created = PrepareTarget(root);
        try
        {
            using var compressed = new CountingStream(archive, leaveOpen: true);
            using var tar = Codecs.DecompressTarball(compressed, out var format, leaveOpen: true);

            // Decompression runs a few MiB ahead on its own thread while this one writes files.
            using var ahead = format == ImageFileFormat.Tar ? tar : new ReadAheadStream(tar, leaveOpen: true);
            using var unpacked = new CountingStream(ahead, leaveOpen: true);
            using var reader = new CheckedTarReader(unpacked, options.Limits?.MaxTotalBytes ?? new UnpackLimits().MaxTotalBytes);
            var run = new TarRun(root, options, compressed, unpacked);
            try
            {
                while (reader.GetNextEntry() is { } entry)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    run.Extract(entry, cancellationToken);
                }

                run.FinishDirectories();
                return run.Result();
            }
            finally
            {
                run.Dispose();
            }
        }
        catch
        {
            Clean(root, created);
            throw;
        }
    }

    /// <summary>
    /// Unpacks a SquashFS image with <c>unsquashfs</c> (as Incus does), then walks the result with the same rules:
    /// links that escape, device nodes, size, entry count and ratio. The inode count is checked before unpacking.
    /// </summary>
    public static UnpackResult UnpackSquashFs(string squashFsPath, string targetDirectory, UnpackOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new UnpackOptions();
        var limits = options.Limits ?? new UnpackLimits();
        var root = Path.GetFullPath(targetDirectory).TrimEnd('/');
        var created = PrepareTarget(root);
        try
        {
            var stats = RunTool("unsquashfs", ["-s", squashFsPath], cancellationToken);
            if (InodeCount().Match(stats) is { Success: true } m && long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > limits.MaxEntries)
            {
                throw new UnsafeArchiveEntryException(squashFsPath, UnsafeEntryReason.TooManyEntries, $"more than {limits.MaxEntries} entries");
            }

            RunTool("unsquashfs", ["-n", "-f", "-d", root, squashFsPath], cancellationToken);
            var compressedSize = new FileInfo(squashFsPath).Length;
            long entries = 0, bytes = 0;
            Walk(root, "", ref entries, ref bytes);
            return new UnpackResult(entries, bytes, 0, 0);

            void Walk(string directory, string relative, ref long entries, ref long bytes)
            {
                foreach (var path in Directory.EnumerateFileSystemEntries(directory))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var rel = relative.Length == 0 ? Path.GetFileName(path) : relative + "/" + Path.GetFileName(path);
                    if (++entries > limits.MaxEntries)
                    {
                        throw new UnsafeArchiveEntryException(rel, UnsafeEntryReason.TooManyEntries, $"more than {limits.MaxEntries} entries");
                    }

                    var (mode, size) = Posix.LStat(path) ?? throw new FileNotFoundException(path);
                    switch (mode & Posix.TypeMask)
                    {
                        case Posix.TypeDirectory:
                            Walk(path, rel, ref entries, ref bytes);
                            break;
                        case Posix.TypeSymlink:
                            CheckSymlink(rel, new FileInfo(path).LinkTarget ?? "", options);
                            break;
                        case Posix.TypeCharDevice or Posix.TypeBlockDevice when !options.AllowDevices:
                            throw new UnsafeArchiveEntryException(rel, UnsafeEntryReason.DeviceNode, "device nodes are not allowed");
                        case Posix.TypeRegular:
                            bytes += size;
                            if (bytes > limits.MaxTotalBytes)
                            {
                                throw new UnsafeArchiveEntryException(rel, UnsafeEntryReason.TooLarge, $"the unpacked size passes {limits.MaxTotalBytes} bytes");
                            }

                            if (bytes > limits.RatioGraceBytes && bytes > limits.MaxCompressionRatio * compressedSize)
                            {
                                throw new UnsafeArchiveEntryException(rel, UnsafeEntryReason.CompressionRatio, $"unpacks to more than {limits.MaxCompressionRatio} times its compressed size");
                            }

                            break;
                    }
                }
            }
        }
        catch
        {
            Clean(root, created);
            throw;
        }
    }

    /// <summary>
    /// Rewrites a unified image tarball with another compression: the tar
    /// bytes are kept as they are, so the image is the same; only its fingerprint changes.
    /// </summary>
    public static void Repack(Stream source, Stream destination, CompressionAlgorithm algorithm, CompressionOptions? options = null)
    {
        using var tar = Codecs.DecompressTarball(source, out _, leaveOpen: true);
        using var output = Codecs.Compress(destination, algorithm, options, leaveOpen: true);
        tar.CopyTo(output, CopySize);
    }

    [GeneratedRegex(@"Number of inodes (\d+)")]
    private static partial Regex InodeCount();

    private static string RunTool(string program, string[] arguments, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {program}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        process.WaitForExitAsync(cancellationToken).GetAwaiter().GetResult();
        if (process.ExitCode != 0)
        {
            throw new IOException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {stderr.Result.Trim()}");
        }

        return stdout.Result;
    }

    private static bool PrepareTarget(string root)
    {
        if (Directory.Exists(root))
        {
            if (Directory.EnumerateFileSystemEntries(root).Any())
            {
                throw new IOException($"The unpack target {root} is not empty.");
            }

            return false;
        }

        Directory.CreateDirectory(root);
        return true;
    }

    private static void Clean(string root, bool created)
    {
        try
        {
            // Directory.Delete removes symlinks themselves and never follows them.
            if (created)
            {
                Directory.Delete(root, recursive: true);
            }
            else
            {
                foreach (var entry in new DirectoryInfo(root).EnumerateFileSystemInfos())
                {
                    if (entry is DirectoryInfo { LinkTarget: null } dir)
                    {
                        dir.Delete(recursive: true);
                    }
                    else
                    {
                        entry.Delete();
                    }
                }
            }
        }
        catch (IOException)
        {
            // The original error matters more than a failed clean-up.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The checked relative form of an archive path: no absolute paths, no <c>..</c>, no empty or <c>.</c> segments.</summary>
    internal static string SafeRelative(string name, UnsafeEntryReason absoluteReason = UnsafeEntryReason.AbsolutePath, UnsafeEntryReason traversalReason = UnsafeEntryReason.PathTraversal, string? reported = null)
    {
        reported ??= name;
        if (name.StartsWith('/'))
        {
            throw new UnsafeArchiveEntryException(reported, absoluteReason, "absolute paths are not allowed");
        }

        if (name.Contains('\0', StringComparison.Ordinal))
        {
            throw new UnsafeArchiveEntryException(reported, traversalReason, "the name holds a NUL byte");
        }

        var builder = new StringBuilder(name.Length);
        foreach (var segment in name.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                throw new UnsafeArchiveEntryException(reported, traversalReason, "'..' is not allowed in paths");
            }

            if (builder.Length > 0)
            {
                builder.Append('/');
            }

            builder.Append(segment);
        }

        return builder.ToString();
    }

    /// <summary>Refuses a symlink whose target leaves the unpack root when resolved from the link's folder.</summary>
    internal static void CheckSymlink(string relativePath, string target, UnpackOptions options)
    {
        if (target.StartsWith('/'))
        {
            if (!options.AllowAbsoluteSymlinks)
            {
                throw new UnsafeArchiveEntryException(relativePath, UnsafeEntryReason.EscapingSymlink, $"the symlink points to the absolute path {target}");
            }

            return;
        }

        var depth = relativePath.Count(c => c == '/');
        foreach (var segment in target.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (segment == "..")
            {
                if (--depth < 0)
                {
                    throw new UnsafeArchiveEntryException(relativePath, UnsafeEntryReason.EscapingSymlink, $"the symlink target {target} leaves the unpack root");
                }
            }
            else if (segment != ".")
            {
                depth++;
            }
        }
    }

    /// <summary>The state of one tarball unpack.</summary>
    private sealed class TarRun(string root, UnpackOptions options, CountingStream compressed, CountingStream unpacked) : IDisposable
    {
        private readonly UnpackLimits _limits = options.Limits ?? new UnpackLimits();
        private readonly bool _chown = options.PreserveOwners && Posix.geteuid() == 0;
        private readonly bool _root = Posix.geteuid() == 0;
        private readonly HashSet<string> _knownDirectories = new(StringComparer.Ordinal) { "" };
        private readonly List<(string Path, TarEntry Entry, List<KeyValuePair<string, string>>? Xattrs)> _directories = [];
        private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(CopySize);
        private long _entries;
        private long _bytes;
        private int _skippedDevices;
        private int _skippedXattrs;

        public UnpackResult Result() => new(_entries, _bytes, _skippedDevices, _skippedXattrs);

        public void Extract(TarEntry entry, CancellationToken cancellationToken)
        {
            if (entry.EntryType is TarEntryType.GlobalExtendedAttributes)
            {
                return;
            }

            if (++_entries > _limits.MaxEntries)
            {
                throw new UnsafeArchiveEntryException(entry.Name, UnsafeEntryReason.TooManyEntries, $"more than {_limits.MaxEntries} entries");
            }

            CheckRatio(entry.Name);
            var rel = SafeRelative(entry.Name);
            if (rel.Length == 0)
            {
                return;
            }

            var full = root + "/" + rel;
            EnsureParents(rel, entry.Name);
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    ExtractDirectory(entry, rel, full);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    ExtractFile(entry, rel, full, cancellationToken);
                    break;
                case TarEntryType.SymbolicLink:
                    CheckSymlink(rel, entry.LinkName, options);
                    Replace(rel, full, entry.Name);
                    File.CreateSymbolicLink(full, entry.LinkName);
                    SetLinkMetadata(entry, full);
                    break;
                case TarEntryType.HardLink:
                    ExtractHardLink(entry, rel, full);
                    break;
                case TarEntryType.CharacterDevice or TarEntryType.BlockDevice:
                    if (!options.AllowDevices)
                    {
                        throw new UnsafeArchiveEntryException(entry.Name, UnsafeEntryReason.DeviceNode, "device nodes are not allowed");
                    }

                    if (!_root)
                    {
                        _skippedDevices++;
                        break;
                    }

                    Replace(rel, full, entry.Name);
                    var type = entry.EntryType == TarEntryType.CharacterDevice ? Posix.TypeCharDevice : Posix.TypeBlockDevice;
                    var device = entry is PosixTarEntry posix ? MakeDev(posix.DeviceMajor, posix.DeviceMinor) : 0;
                    CheckErrno(Posix.mknod(full, type | (uint)entry.Mode, device), full);
                    SetLinkMetadata(entry, full);
                    break;
                case TarEntryType.Fifo:
                    Replace(rel, full, entry.Name);
                    CheckErrno(Posix.mknod(full, Posix.TypeFifo | (uint)entry.Mode, 0), full);
                    SetLinkMetadata(entry, full);
                    break;
                default:
                    throw new UnsafeArchiveEntryException(entry.Name, UnsafeEntryReason.UnsupportedType, $"entries of type {entry.EntryType} are not unpacked");
            }
        }

        private static ulong MakeDev(int major, int minor) =>
            ((ulong)(uint)minor & 0xff) | (((ulong)(uint)major & 0xfff) << 8) | (((ulong)(uint)minor & ~0xffUL) << 12) | (((ulong)(uint)major & ~0xfffUL) << 32);

        private void CheckRatio(string name)
        {
            var unpackedBytes = unpacked.Count;
            if (unpackedBytes > _limits.RatioGraceBytes && unpackedBytes > _limits.MaxCompressionRatio * Math.Max(compressed.Count, 1))
            {
                throw new UnsafeArchiveEntryException(name, UnsafeEntryReason.CompressionRatio, $"the archive unpacks to more than {_limits.MaxCompressionRatio} times its compressed size");
            }
        }

        // Creates missing parent folders one level at a time and refuses any parent that is a symlink, so no
        // entry is ever written through a link (whether the archive made it earlier or it was there already).
        private void EnsureParents(string rel, string name)
        {
            var slash = rel.IndexOf('/', StringComparison.Ordinal);
            while (slash >= 0)
            {
                var parent = rel[..slash];
                if (!_knownDirectories.Contains(parent))
                {
                    var path = root + "/" + parent;
                    var stat = Posix.LStat(path);
                    if (stat is null)
                    {
                        Directory.CreateDirectory(path);
                    }
                    else if ((stat.Value.Mode & Posix.TypeMask) == Posix.TypeSymlink)
                    {
                        throw new UnsafeArchiveEntryException(name, UnsafeEntryReason.ThroughSymlink, $"'{parent}' is a symlink and entries are never written through one");
                    }
                    else if ((stat.Value.Mode & Posix.TypeMask) != Posix.TypeDirectory)
                    {
                        throw new UnsafeArchiveEntryException(name, UnsafeEntryReason.UnsupportedType, $"'{parent}' is not a directory");
                    }

                    _knownDirectories.Add(parent);
                }

                slash = rel.IndexOf('/', slash + 1);
            }
        }

        // Removes whatever is at the path (never following a symlink there) so the new entry replaces it, as tar does.
        private void Replace(string rel, string full, string name)
        {
            var stat = Posix.LStat(full);
            if (stat is null)
            {
                return;
            }

            if ((stat.Value.Mode & Posix.TypeMask) == Posix.TypeDirectory)
            {
                try
                {
                    Directory.Delete(full);
                }
                catch (IOException e)
                {
                    throw new UnsafeArchiveEntryException(name, UnsafeEntryReason.UnsupportedType, $"it would replace the non-empty directory '{rel}' ({e.Message})");
                }

                _knownDirectories.Remove(rel);
            }
            else
            {
                File.Delete(full);
            }
        }

        private void ExtractDirectory(TarEntry entry, string rel, string full)
        {
            var stat = Posix.LStat(full);
            if (stat is { } s && (s.Mode & Posix.TypeMask) != Posix.TypeDirectory)
            {
                if ((s.Mode & Posix.TypeMask) == Posix.TypeSymlink)
                {
                    throw new UnsafeArchiveEntryException(entry.Name, UnsafeEntryReason.ThroughSymlink, $"'{rel}' is a symlink and entries are never written through one");
                }

                File.Delete(full);
                stat = null;
            }

            if (stat is null)
            {
                Directory.CreateDirectory(full);
            }

            _knownDirectories.Add(rel);

            // Modes and times of folders are set at the end: read-only folders would block their children, and
            // every child written changes the folder's mtime.
            _directories.Add((full, entry, Xattrs(entry)));
        }

        private void ExtractFile(TarEntry entry, string rel, string full, CancellationToken cancellationToken)
        {
            var length = entry.Length;
            if (_bytes + length > _limits.MaxTotalBytes)
            {
                throw new UnsafeArchiveEntryException(entry.Name, UnsafeEntryReason.TooLarge, $"the unpacked size passes {_limits.MaxTotalBytes} bytes");
            }

            Replace(rel, full, entry.Name);
            using var handle = File.OpenHandle(full, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.None, length > CopySize ? length : 0);
            if (entry.DataStream is { } data)
            {
                long offset = 0;
                while (true)
                {
                    var n = data.Read(_buffer!, 0, CopySize);
                    if (n == 0)
                    {
                        break;
                    }

                    RandomAccess.Write(handle, _buffer.AsSpan(0, n), offset);
                    offset += n;
                    cancellationToken.ThrowIfCancellationRequested();
                    if (offset > length)
                    {
                        throw new UnsafeArchiveEntryException(entry.Name, UnsafeEntryReason.TooLarge, "the entry holds more data than its header says");
                    }

                    CheckRatio(entry.Name);
                }

                _bytes += offset;
            }

            var fd = (int)handle.DangerousGetHandle();
            if (_chown)
            {
                _ = Posix.fchown(fd, entry.Uid, entry.Gid);
            }

            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(handle, entry.Mode);
            }
            SetXattrs(fd, null, Xattrs(entry));
            File.SetLastWriteTimeUtc(handle, entry.ModificationTime.UtcDateTime);
        }

        private void ExtractHardLink(TarEntry entry, string rel, string full)
        {
            var target = SafeRelative(entry.LinkName, UnsafeEntryReason.EscapingHardLink, UnsafeEntryReason.EscapingHardLink, entry.Name);
            EnsureParents(target, entry.Name);
            var targetPath = root + "/" + target;
            if (target.Length == 0 || Posix.LStat(targetPath) is null)
            {
                throw new UnsafeArchiveEntryException(entry.Name, UnsafeEntryReason.EscapingHardLink, $"the hard link target '{entry.LinkName}' is not in the archive before it");
            }

            Replace(rel, full, entry.Name);
            CheckErrno(Posix.link(targetPath, full), full);
        }

        private void SetLinkMetadata(TarEntry entry, string full)
        {
            if (_chown)
            {
                _ = Posix.lchown(full, entry.Uid, entry.Gid);
            }

            if (entry.EntryType != TarEntryType.SymbolicLink && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(full, entry.Mode);
            }

            SetXattrs(-1, full, Xattrs(entry));
            Posix.SetTimesNoFollow(full, entry.ModificationTime);
        }

        public void FinishDirectories()
        {
            for (var i = _directories.Count - 1; i >= 0; i--)
            {
                var (path, entry, xattrs) = _directories[i];
                if (_chown)
                {
                    _ = Posix.lchown(path, entry.Uid, entry.Gid);
                }

                SetXattrs(-1, path, xattrs);
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(path, entry.Mode);
                }

                Posix.SetTimesNoFollow(path, entry.ModificationTime);
            }
        }

        private List<KeyValuePair<string, string>>? Xattrs(TarEntry entry)
        {
            if (!options.PreserveXattrs || entry is not PaxTarEntry pax || pax.ExtendedAttributes.Count == 0)
            {
                return null;
            }

            List<KeyValuePair<string, string>>? list = null;
            foreach (var pair in pax.ExtendedAttributes)
            {
                if (pair.Key.StartsWith("SCHILY.xattr.", StringComparison.Ordinal) || pair.Key.StartsWith("LIBARCHIVE.xattr.", StringComparison.Ordinal))
                {
                    (list ??= []).Add(pair);
                }
            }

            return list;
        }

        private unsafe void SetXattrs(int fd, string? path, List<KeyValuePair<string, string>>? xattrs)
        {
            if (xattrs is null)
            {
                return;
            }

            foreach (var (key, text) in xattrs)
            {
                string name;
                byte[] value;
                if (key.StartsWith("SCHILY.xattr.", StringComparison.Ordinal))
                {
                    // System.Formats.Tar hands pax values over as UTF-8 text; a binary value (security.capability)
                    // did not survive that and is skipped rather than written wrong.
                    if (text.Contains('\uFFFD', StringComparison.Ordinal))
                    {
                        _skippedXattrs++;
                        continue;
                    }

                    name = key["SCHILY.xattr.".Length..];
                    value = Encoding.UTF8.GetBytes(text);
                }
                else
                {
                    name = Uri.UnescapeDataString(key["LIBARCHIVE.xattr.".Length..]);
                    try
                    {
                        value = Convert.FromBase64String(text.PadRight((text.Length + 3) / 4 * 4, '='));
                    }
                    catch (FormatException)
                    {
                        _skippedXattrs++;
                        continue;
                    }
                }

                fixed (byte* p = value)
                {
                    var ret = fd >= 0 ? Posix.fsetxattr(fd, name, p, (nuint)value.Length, 0) : Posix.lsetxattr(path!, name, p, (nuint)value.Length, 0);
                    if (ret != 0)
                    {
                        _skippedXattrs++;
                    }
                }
            }
        }

        private static void CheckErrno(int result, string path)
        {
            if (result != 0)
            {
                var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                throw new IOException($"Could not create {path}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}", errno);
            }
        }

        public void Dispose()
        {
            if (_buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = null;
            }
        }
    }
}
