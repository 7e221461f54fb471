using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace ImageActors.Remotes.Tls;

/// <summary>
/// A TLS client connection run by OpenSSL on the socket itself. OpenSSL reads ahead in large blocks and
/// decrypts in place, and a synchronous <see cref="Read(Span{byte})"/> waits for data with poll(2) on the
/// calling thread, as curl does: a bulk download costs about half the CPU of <see cref="SslStream"/>, whose
/// every wait for data is a hop through the socket engine and the thread pool. Asynchronous reads work too
/// (they wait with a zero-byte receive); they are what the HTTP client uses for the response headers.
/// </summary>
internal sealed partial class OpenSslStream : Stream
{
    private const short PollIn = 0x1;
    private const short PollOut = 0x4;
    private const int PollSliceMs = 1000;

    private readonly Socket _socket;
    private readonly SafeSslHandle _ssl;

    // One OpenSSL call at a time on this connection: the HTTP client may write a request while a read it left
    // pending on the idle connection wakes up (TLS 1.3 session tickets arrive that way). Held only around
    // non-blocking calls, never across a wait.
    private readonly Lock _calls = new();
    private int _disposed;

    private OpenSslStream(Socket socket, SafeSslHandle ssl)
    {
        _socket = socket;
        _ssl = ssl;
    }

    /// <summary>
    /// Runs the handshake on a connected socket and checks the server's certificate with
    /// <paramref name="validate"/> (the same callback <see cref="SslStream"/> would call, with the same errors).
    /// </summary>
    /// <exception cref="AuthenticationException">The handshake failed or the certificate is refused.</exception>
    public static async Task<OpenSslStream> ConnectAsync(
        Socket socket,
        SafeSslContextHandle context,
        string host,
        X509Certificate2? clientCertificate,
        RemoteCertificateValidationCallback? validate,
        CancellationToken cancellationToken)
    {
        var ssl = LibSsl.SSL_new(context);
        if (ssl.IsInvalid)
        {
            throw new IOException("OpenSSL could not make a TLS connection: " + LibSsl.LastError());
        }

        var stream = new OpenSslStream(socket, ssl);
        try
        {
            socket.Blocking = false;
            if (LibSsl.SSL_set_fd(ssl, (int)socket.Handle) != 1)
            {
                throw new IOException("OpenSSL could not take the socket: " + LibSsl.LastError());
            }

            if (!System.Net.IPAddress.TryParse(host, out _))
            {
                LibSsl.SetHostName(ssl, host);
            }

            if (clientCertificate is not null)
            {
                LibSsl.UseClientCertificate(ssl, clientCertificate.RawData, ExportKey(clientCertificate));
            }

            while (true)
            {
                LibSsl.ERR_clear_error();
                var result = LibSsl.SSL_connect(ssl);
                if (result == 1)
                {
                    break;
                }

                var error = LibSsl.SSL_get_error(ssl, result);
                if (error == LibSsl.ErrorWantRead)
                {
                    await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                }
                else if (error == LibSsl.ErrorWantWrite)
                {
                    stream.WaitFor(PollOut, cancellationToken);
                }
                else
                {
                    throw new AuthenticationException($"The TLS handshake with {host} failed: {Describe(error)}");
                }
            }

            Validate(ssl, host, validate);
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <summary>Returns what has arrived, up to <paramref name="buffer"/>'s length, waiting on this thread only when nothing has.</summary>
    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            var (count, want) = ReadAvailable(buffer);
            if (want == 0)
            {
                return count;
            }

            WaitFor(want, CancellationToken.None);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            var (count, want) = ReadAvailable(buffer.Span);
            if (want == 0)
            {
                return count;
            }

            await WaitForAsync(want, cancellationToken).ConfigureAwait(false);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var (count, want) = WriteSome(buffer);
            buffer = buffer[count..];
            if (want != 0)
            {
                WaitFor(want, CancellationToken.None);
            }
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (!buffer.IsEmpty)
        {
            var (count, want) = WriteSome(buffer.Span);
            buffer = buffer[count..];
            if (want != 0)
            {
                await WaitForAsync(want, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // A read blocked in poll(2) on another thread wakes up on the shutdown; the SSL object is freed
            // only once no call into OpenSSL is running (the safe handle counts them).
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }

            _ssl.Dispose();
            _socket.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Decrypts what is buffered or readable without blocking: (bytes, 0) or (0, the poll event to wait for); (0, 0) is the end.</summary>
    private unsafe (int Count, short Want) ReadAvailable(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var total = 0;
        fixed (byte* start = buffer)
        {
            using var scope = _calls.EnterScope();
            LibSsl.ERR_clear_error();
            while (total < buffer.Length)
            {
                var n = LibSsl.SSL_read(_ssl, start + total, Math.Min(buffer.Length - total, int.MaxValue));
                if (n > 0)
                {
                    total += n;
                    continue;
                }

                var error = LibSsl.SSL_get_error(_ssl, n);
                if (total > 0 && error is LibSsl.ErrorWantRead or LibSsl.ErrorWantWrite)
                {
                    return (total, 0);
                }

                switch (error)
                {
                    case LibSsl.ErrorWantRead:
                        return (0, PollIn);
                    case LibSsl.ErrorWantWrite:
                        return (0, PollOut);
                    case LibSsl.ErrorZeroReturn:
                        return (total, 0);
                    default:
                        if (total > 0)
                        {
                            // Hand over what arrived; the failure shows again on the next read.
                            return (total, 0);
                        }

                        throw new IOException("TLS read failed: " + Describe(error));
                }
            }
        }

        return (total, 0);
    }

    private unsafe (int Count, short Want) WriteSome(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        fixed (byte* start = buffer)
        {
            using var scope = _calls.EnterScope();
            LibSsl.ERR_clear_error();
            var n = LibSsl.SSL_write(_ssl, start, buffer.Length);
            if (n > 0)
            {
                return (n, 0);
            }

            return LibSsl.SSL_get_error(_ssl, n) switch
            {
                LibSsl.ErrorWantRead => (0, PollIn),
                LibSsl.ErrorWantWrite => (0, PollOut),
                var error => throw new IOException("TLS write failed: " + Describe(error)),
            };
        }
    }

    /// <summary>Blocks this thread until the socket is ready (poll(2) in slices, so that a disposal is noticed).</summary>
    private unsafe void WaitFor(short events, CancellationToken cancellationToken)
    {
        var handle = _socket.SafeHandle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var fd = new PollFd { Fd = (int)handle.DangerousGetHandle(), Events = events };
            while (true)
            {
                ObjectDisposedException.ThrowIf(_disposed != 0, this);
                cancellationToken.ThrowIfCancellationRequested();
                var ready = poll(&fd, 1, PollSliceMs);
                if (ready > 0)
                {
                    return;
                }

                if (ready < 0 && Marshal.GetLastPInvokeError() != 4)
                {
                    throw new IOException($"poll on the TLS socket failed (errno {Marshal.GetLastPInvokeError()}).");
                }
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private async ValueTask WaitForAsync(short events, CancellationToken cancellationToken)
    {
        if (events == PollIn)
        {
            // A zero-byte receive completes when data (or the end) arrives, without taking any of it.
            await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // Only when the send buffer is full: rare for the requests of a download.
            await Task.Run(() => WaitFor(events, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
    }

    private static void Validate(SafeSslHandle ssl, string host, RemoteCertificateValidationCallback? validate)
    {
        var der = LibSsl.PeerChain(ssl);
        if (der.Count == 0)
        {
            throw new AuthenticationException($"{host} sent no certificate.");
        }

        using var leaf = X509CertificateLoader.LoadCertificate(der[0]);
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1"));
        var extra = der.Skip(1).Select(X509CertificateLoader.LoadCertificate).ToList();
        try
        {
            chain.ChainPolicy.ExtraStore.AddRange(extra.ToArray());
            var errors = SslPolicyErrors.None;
            if (!chain.Build(leaf))
            {
                errors |= SslPolicyErrors.RemoteCertificateChainErrors;
            }

            if (!leaf.MatchesHostname(host))
            {
                errors |= SslPolicyErrors.RemoteCertificateNameMismatch;
            }

            var accepted = validate is null ? errors == SslPolicyErrors.None : validate(host, leaf, chain, errors);
            if (!accepted)
            {
                throw new AuthenticationException($"The remote certificate of {host} was rejected ({errors}).");
            }
        }
        finally
        {
            foreach (var certificate in extra)
            {
                certificate.Dispose();
            }
        }
    }

    private static byte[] ExportKey(X509Certificate2 certificate)
    {
        using var key = (System.Security.Cryptography.AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey() ?? certificate.GetRSAPrivateKey()
            ?? throw new AuthenticationException($"The client certificate {certificate.Subject} has no usable private key.");
        return key.ExportPkcs8PrivateKey();
    }

    private static string Describe(int error)
    {
        var detail = LibSsl.LastError();
        var errno = Marshal.GetLastSystemError();
        return error switch
        {
            LibSsl.ErrorSyscall when detail.Length == 0 => errno == 0 ? "the connection was closed" : $"system error {errno}",
            _ => detail.Length == 0 ? $"OpenSSL error {error}" : detail,
        };
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int poll(PollFd* fds, nuint count, int timeout);
}
