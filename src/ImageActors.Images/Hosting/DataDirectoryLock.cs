using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace ImageActors.Images.Hosting;

/// <summary>
/// The one owner of a data directory: an exclusive lock on <c>&lt;data&gt;/lock</c> (a POSIX record lock, which the
/// kernel drops when the process ends, however it ends), held from before the store reads anything until after it
/// stopped. The file holds the owner's process id and, while it serves one, its unix socket, so that a second opener
/// can say who owns the directory or talk to it instead.
/// </summary>
public sealed class DataDirectoryLock : IDisposable
{
    /// <summary>The lock file's name under the data directory.</summary>
    public const string FileName = "lock";

    // Record locks conflict between processes only, and a process that closes any descriptor of the file loses its
    // lock: within one process the owners are kept here, and the file is never opened a second time.
    private static readonly ConcurrentDictionary<string, DataDirectoryLock?> HeldHere = new(StringComparer.Ordinal);

    private readonly FileStream _file;
    private int _released;
    private string? _socket;

    private DataDirectoryLock(string dataDirectory, FileStream file)
    {
        DataDirectory = dataDirectory;
        _file = file;
    }

    /// <summary>The data directory (full path).</summary>
    public string DataDirectory { get; }

    /// <summary>
    /// Takes the data directory (creating it when missing), or fails at once when another store holds it.
    /// </summary>
    /// <exception cref="DataDirectoryInUseException">Another process (or another store in this one) owns the directory.</exception>
    public static DataDirectoryLock Acquire(string dataDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataDirectory));
        Directory.CreateDirectory(full);
        if (!HeldHere.TryAdd(full, null))
        {
            throw new DataDirectoryInUseException(full, Environment.ProcessId, HeldHere.GetValueOrDefault(full)?._socket);
        }

        FileStream? file = null;
        try
        {
            if (OperatingSystem.IsMacOS())
            {
                // No record locks there: the open itself is exclusive (flock), and the owner cannot be read.
                try
                {
                    file = Open(full, FileShare.None);
                }
                catch (IOException)
                {
                    throw new DataDirectoryInUseException(full, null, null);
                }
            }
            else
            {
                file = Open(full, FileShare.ReadWrite);
                try
                {
                    file.Lock(0, 1);
                }
                catch (IOException)
                {
                    var owner = ReadOwner(file);
                    throw new DataDirectoryInUseException(full, owner?.ProcessId, owner?.UnixSocket);
                }
            }

            var held = new DataDirectoryLock(full, file);
            held.Write(null);
            HeldHere[full] = held;
            return held;
        }
        catch
        {
            file?.Dispose();
            HeldHere.TryRemove(full, out _);
            throw;
        }
    }

    /// <summary>
    /// The unix socket the data directory's owner says it serves, read without taking the lock (a command that would
    /// talk to a running server need not prepare a store first); null when the directory has no owner's line naming one.
    /// The owner may have ended since it wrote the line: a caller connects to find out.
    /// </summary>
    /// <param name="dataDirectory">The data directory.</param>
    public static string? ReadAnnouncedSocket(string dataDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataDirectory));
        if (HeldHere.TryGetValue(full, out var here))
        {
            // Never opened a second time in the owning process: closing that descriptor would drop the lock.
            return here?._socket;
        }

        var path = Path.Combine(full, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var file = Open(full, FileShare.ReadWrite);
            var buffer = new byte[4096];
            var read = RandomAccess.Read(file.SafeFileHandle, buffer, 0);
            var text = Encoding.UTF8.GetString(buffer, 0, read);
            var end = text.IndexOf('\n', StringComparison.Ordinal);
            var space = text.IndexOf(' ', StringComparison.Ordinal);
            return end > 0 && space > 0 && space < end ? text[(space + 1)..end] : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Records the unix socket the owner serves (null: none), for commands that would open the store.</summary>
    public void AnnounceSocket(string? unixSocket)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _released) != 0, this);
        var socket = unixSocket is null ? null : Path.GetFullPath(unixSocket);
        Write(socket);
        Volatile.Write(ref _socket, socket);
    }

    /// <summary>Releases the directory.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        // The file stays: deleting it would let a third opener lock a new file while a second still holds the old one.
        _file.Dispose();
        HeldHere.TryRemove(DataDirectory, out _);
    }

    private static FileStream Open(string directory, FileShare share) =>
        new(Path.Combine(directory, FileName), new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = share,
            BufferSize = 0,
        });

    // One line, "<pid> <socket>", written in one call; a reader that comes in between the truncation and the write
    // sees nothing yet and looks again.
    private void Write(string? unixSocket)
    {
        var line = Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + (unixSocket is null ? string.Empty : " " + unixSocket) + "\n";
        var bytes = Encoding.UTF8.GetBytes(line);
        _file.SetLength(0);
        RandomAccess.Write(_file.SafeFileHandle, bytes, 0);
        _file.Flush(flushToDisk: false);
    }

    private static DataDirectoryOwner? ReadOwner(FileStream file)
    {
        var buffer = new byte[4096];
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var read = RandomAccess.Read(file.SafeFileHandle, buffer, 0);
            var text = Encoding.UTF8.GetString(buffer, 0, read);
            var end = text.IndexOf('\n', StringComparison.Ordinal);
            if (end > 0)
            {
                var line = text[..end];
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                var pidText = space < 0 ? line : line[..space];
                return int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                    ? new DataDirectoryOwner(pid, space < 0 ? null : line[(space + 1)..])
                    : null;
            }

            // The owner took the lock a moment ago and is writing its line.
            Thread.Sleep(10);
        }

        return null;
    }
}

/// <summary>The process that owns a data directory.</summary>
/// <param name="ProcessId">Its process id; null when it could not be read.</param>
/// <param name="UnixSocket">The unix socket it serves the store on; null when it serves none.</param>
public sealed record DataDirectoryOwner(int? ProcessId, string? UnixSocket);

/// <summary>Another process (or another store in this one) owns the data directory.</summary>
public sealed class DataDirectoryInUseException : IOException
{
    /// <summary>Creates the error.</summary>
    public DataDirectoryInUseException(string dataDirectory, int? ownerProcessId, string? ownerSocket)
        : base(Describe(dataDirectory, ownerProcessId))
    {
        DataDirectory = dataDirectory;
        OwnerProcessId = ownerProcessId;
        OwnerSocket = ownerSocket;
    }

    /// <summary>The data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>The owner's process id, when known.</summary>
    public int? OwnerProcessId { get; }

    /// <summary>The unix socket the owner serves, when it serves one.</summary>
    public string? OwnerSocket { get; }

    private static string Describe(string dataDirectory, int? pid) =>
        $"the data directory {dataDirectory} is in use by {(pid is { } p ? "process " + p.ToString(CultureInfo.InvariantCulture) : "another process")}; stop it or choose another data directory";
}
