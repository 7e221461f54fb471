using System.Runtime.InteropServices;

namespace ImageActors.Streaming;

/// <summary>The few libc calls the BCL has no portable form of: durability, ownership, xattrs, device nodes, links.</summary>
internal static unsafe partial class Posix
{
    private const string Libc = "libc";

    public const int ENOSPC = 28;
    public const int EDQUOT = 122;
    public const int EEXIST = 17;
    public const int ENOTSUP = 95;
    public const int EINVAL = 22;
    public const uint SyncFileRangeWaitBefore = 1;
    public const uint SyncFileRangeWrite = 2;
    public const uint SyncFileRangeWaitAfter = 4;
    public const int FadviseDontNeed = 4;
    public const int AtFdCwd = -100;
    public const int AtSymlinkNoFollow = 0x100;
    private const int FGetFl = 3;
    private const int FSetFl = 4;

    // The open(2) flags whose values differ between the two architectures .NET runs on here.
    private static readonly bool IsArm64 = RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64;
    private static readonly int ODirectory = IsArm64 ? 0x4000 : 0x10000;
    private static readonly int ODirect = IsArm64 ? 0x10000 : 0x4000;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int fsync(int fd);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int fdatasync(int fd);

    [LibraryImport(Libc, SetLastError = true)]
    private static partial int fcntl(int fd, int command, int argument);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int sync_file_range(int fd, long offset, long nbytes, uint flags);

    [LibraryImport(Libc)]
    public static partial int posix_fadvise(int fd, long offset, long length, int advice);

    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lchown(string path, int owner, int group);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int fchown(int fd, int owner, int group);

    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int fsetxattr(int fd, string name, byte* value, nuint size, int flags);

    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lsetxattr(string path, string name, byte* value, nuint size, int flags);

    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mknod(string path, uint mode, ulong dev);

    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int link(string oldPath, string newPath);

    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int utimensat(int dirfd, string path, TimeSpec* times, int flags);

    [LibraryImport(Libc)]
    public static partial uint geteuid();

    [LibraryImport(Libc, EntryPoint = "lstat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lstat_native(string path, byte* buffer);

    public const uint TypeMask = 0xF000;
    public const uint TypeFifo = 0x1000;
    public const uint TypeCharDevice = 0x2000;
    public const uint TypeDirectory = 0x4000;
    public const uint TypeBlockDevice = 0x6000;
    public const uint TypeRegular = 0x8000;
    public const uint TypeSymlink = 0xA000;
    public const uint TypeSocket = 0xC000;

    /// <summary>The st_mode and st_size of a path without following a final symlink; null when it does not exist.</summary>
    public static (uint Mode, long Size)? LStat(string path)
    {
        // struct stat on x86_64 / aarch64 glibc: st_mode at 24 (x86_64) or 16 (aarch64), st_size at 48.
        var buffer = stackalloc byte[256];
        if (lstat_native(path, buffer) != 0)
        {
            return null;
        }

        var mode = RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? *(uint*)(buffer + 16) : *(uint*)(buffer + 24);
        return (mode, *(long*)(buffer + 48));
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    /// <summary>Makes a file's data durable.</summary>
    public static void FlushToDisk(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        if (fdatasync((int)handle.DangerousGetHandle()) != 0)
        {
            ThrowLastError("fdatasync");
        }
    }

    /// <summary>
    /// Turns direct I/O (O_DIRECT: writes bypass the page cache) on or off for an open file; false when the file
    /// system (tmpfs) or the platform does not have it.
    /// </summary>
    public static bool TrySetDirect(Microsoft.Win32.SafeHandles.SafeFileHandle handle, bool on)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture is not (System.Runtime.InteropServices.Architecture.X64 or System.Runtime.InteropServices.Architecture.Arm64))
        {
            return false;
        }

        var fd = (int)handle.DangerousGetHandle();
        var flags = fcntl(fd, FGetFl, 0);
        return flags >= 0 && fcntl(fd, FSetFl, on ? flags | ODirect : flags & ~ODirect) == 0;
    }

    /// <summary>Starts writeback of a written range without waiting, so the final fsync has little left to do.</summary>
    public static void StartWriteback(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long offset, long length) =>
        _ = sync_file_range((int)handle.DangerousGetHandle(), offset, length, SyncFileRangeWrite);

    /// <summary>Waits until a range whose writeback was started is on the disk (written pages become clean).</summary>
    public static void WaitWriteback(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long offset, long length) =>
        _ = sync_file_range((int)handle.DangerousGetHandle(), offset, length, SyncFileRangeWaitBefore | SyncFileRangeWrite | SyncFileRangeWaitAfter);

    /// <summary>Drops the clean cached pages of a range (dirty ones stay), so that a long write recycles a few pages.</summary>
    public static void DropCache(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long offset, long length) =>
        _ = posix_fadvise((int)handle.DangerousGetHandle(), offset, length, FadviseDontNeed);

    /// <summary>Makes a directory's entries (a rename, a new file) durable.</summary>
    public static void FlushDirectory(string path)
    {
        var fd = open(path, ODirectory);
        if (fd < 0)
        {
            ThrowLastError("open " + path);
        }

        try
        {
            if (fsync(fd) != 0)
            {
                ThrowLastError("fsync " + path);
            }
        }
        finally
        {
            close(fd);
        }
    }

    /// <summary>Sets the access and modification time of a path without following a symlink.</summary>
    public static void SetTimesNoFollow(string path, DateTimeOffset modified)
    {
        var times = stackalloc TimeSpec[2];
        var seconds = modified.ToUnixTimeSeconds();
        var nanos = (modified.UtcTicks % TimeSpan.TicksPerSecond) * 100;
        times[0] = new TimeSpec { Seconds = seconds, Nanoseconds = nanos };
        times[1] = times[0];
        _ = utimensat(AtFdCwd, path, times, AtSymlinkNoFollow);
    }

    /// <summary>Whether an I/O error means the disk (or a quota) is full.</summary>
    public static bool IsDiskFull(IOException error) =>
        error.HResult is ENOSPC or EDQUOT or unchecked((int)0x80070070) or 0x70
            || error.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase)
            || error.Message.Contains("disk was full", StringComparison.OrdinalIgnoreCase)
            || error.Message.Contains("quota", StringComparison.OrdinalIgnoreCase);

    private static void ThrowLastError(string what)
    {
        var errno = Marshal.GetLastPInvokeError();
        throw new IOException($"{what} failed: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
    }
}
