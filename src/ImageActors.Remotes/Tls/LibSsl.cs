using System.Runtime.InteropServices;
using System.Text;

namespace ImageActors.Remotes.Tls;

/// <summary>The OpenSSL 3 calls a TLS client over a socket needs (<c>libssl.so.3</c>, <c>libcrypto.so.3</c>).</summary>
internal static unsafe partial class LibSsl
{
    private const string Ssl = "libssl.so.3";
    private const string Crypto = "libcrypto.so.3";

    public const int ErrorNone = 0;
    public const int ErrorSsl = 1;
    public const int ErrorWantRead = 2;
    public const int ErrorWantWrite = 3;
    public const int ErrorSyscall = 5;
    public const int ErrorZeroReturn = 6;

    public const int Tls12Version = 0x0303;
    public const int Tls13Version = 0x0304;

    private const int CtrlMode = 33;
    private const int CtrlSetReadAhead = 41;
    private const int CtrlSetTlsextHostname = 55;
    private const int CtrlSetMinProtoVersion = 123;
    private const int CtrlSetMaxProtoVersion = 124;
    private const long ModeEnablePartialWrite = 0x1;
    private const long ModeAcceptMovingWriteBuffer = 0x2;
    private const ulong OpIgnoreUnexpectedEof = 1UL << 7;
    private const int TlsextNametypeHostName = 0;

    private static readonly Lazy<bool> Loadable = new(() =>
    {
        try
        {
            return NativeLibrary.TryLoad(Ssl, typeof(LibSsl).Assembly, null, out _)
                && NativeLibrary.TryLoad(Crypto, typeof(LibSsl).Assembly, null, out _)
                && OpenSSL_version_num() >= 0x30000000;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    });

    /// <summary>Whether OpenSSL 3 can be loaded on this machine.</summary>
    public static bool IsAvailable => Loadable.Value;

    /// <summary>Makes a client context: the given protocol range, read-ahead, writes that may move between retries, EOF without close_notify read as EOF.</summary>
    public static SafeSslContextHandle NewClientContext(int minVersion, int maxVersion)
    {
        var context = SSL_CTX_new(TLS_client_method());
        if (context.IsInvalid)
        {
            throw new IOException("OpenSSL could not make a TLS context: " + LastError());
        }

        SSL_CTX_ctrl(context, CtrlSetMinProtoVersion, minVersion, 0);
        SSL_CTX_ctrl(context, CtrlSetMaxProtoVersion, maxVersion, 0);
        SSL_CTX_ctrl(context, CtrlSetReadAhead, 1, 0);
        SSL_CTX_ctrl(context, CtrlMode, ModeEnablePartialWrite | ModeAcceptMovingWriteBuffer, 0);
        SSL_CTX_set_options(context, OpIgnoreUnexpectedEof);
        ReadOnlySpan<byte> http11 = [8, (byte)'h', (byte)'t', (byte)'t', (byte)'p', (byte)'/', (byte)'1', (byte)'.', (byte)'1'];
        fixed (byte* protocols = http11)
        {
            _ = SSL_CTX_set_alpn_protos(context, protocols, (uint)http11.Length);
        }

        return context;
    }

    /// <summary>Sets the server name sent in the handshake (SNI).</summary>
    public static void SetHostName(SafeSslHandle ssl, string host)
    {
        var bytes = Encoding.ASCII.GetBytes(host + "\0");
        fixed (byte* name = bytes)
        {
            if (SSL_ctrl(ssl, CtrlSetTlsextHostname, TlsextNametypeHostName, (nint)name) != 1)
            {
                throw new IOException($"OpenSSL refused the server name {host}: {LastError()}");
            }
        }
    }

    /// <summary>The certificates the server sent, leaf first, as DER.</summary>
    public static List<byte[]> PeerChain(SafeSslHandle ssl)
    {
        var chain = new List<byte[]>();
        var stack = SSL_get_peer_cert_chain(ssl);
        if (stack == 0)
        {
            return chain;
        }

        var count = OPENSSL_sk_num(stack);
        for (var i = 0; i < count; i++)
        {
            var x509 = OPENSSL_sk_value(stack, i);
            var length = i2d_X509(x509, null);
            if (length <= 0)
            {
                continue;
            }

            var der = new byte[length];
            fixed (byte* start = der)
            {
                var cursor = start;
                _ = i2d_X509(x509, &cursor);
            }

            chain.Add(der);
        }

        return chain;
    }

    /// <summary>Presents a client certificate (DER) with its private key (PKCS#8 DER) to servers that ask for one.</summary>
    public static void UseClientCertificate(SafeSslHandle ssl, byte[] certificate, byte[] pkcs8Key)
    {
        Use(ssl, certificate, "the client certificate", &d2i_X509, &SSL_use_certificate, &X509_free);
        Use(ssl, pkcs8Key, "the client certificate's key", &d2i_AutoPrivateKey, &SSL_use_PrivateKey, &EVP_PKEY_free);
    }

    /// <summary>Decodes <paramref name="der"/> into an OpenSSL object, gives it to the connection (which keeps its own reference) and lets go of ours.</summary>
    private static void Use(
        SafeSslHandle ssl,
        byte[] der,
        string what,
        delegate*<nint, byte**, long, nint> decode,
        delegate*<SafeSslHandle, nint, int> use,
        delegate*<nint, void> free)
    {
        fixed (byte* start = der)
        {
            var cursor = start;
            var decoded = decode(0, &cursor, der.Length);
            if (decoded == 0)
            {
                throw new IOException($"OpenSSL could not read {what}: {LastError()}");
            }

            try
            {
                if (use(ssl, decoded) != 1)
                {
                    throw new IOException($"OpenSSL refused {what}: {LastError()}");
                }
            }
            finally
            {
                free(decoded);
            }
        }
    }

    /// <summary>The oldest queued OpenSSL error as text (and clears the queue), or an empty string.</summary>
    public static string LastError()
    {
        var code = ERR_get_error();
        ERR_clear_error();
        if (code == 0)
        {
            return string.Empty;
        }

        var text = stackalloc byte[256];
        ERR_error_string_n(code, text, 256);
        return Marshal.PtrToStringUTF8((nint)text) ?? string.Empty;
    }

    [LibraryImport(Crypto)]
    private static partial ulong OpenSSL_version_num();

    [LibraryImport(Ssl)]
    private static partial nint TLS_client_method();

    [LibraryImport(Ssl)]
    private static partial SafeSslContextHandle SSL_CTX_new(nint method);

    [LibraryImport(Ssl)]
    internal static partial void SSL_CTX_free(nint context);

    [LibraryImport(Ssl)]
    private static partial long SSL_CTX_ctrl(SafeSslContextHandle context, int command, long larg, nint parg);

    [LibraryImport(Ssl)]
    private static partial ulong SSL_CTX_set_options(SafeSslContextHandle context, ulong options);

    [LibraryImport(Ssl)]
    private static partial int SSL_CTX_set_alpn_protos(SafeSslContextHandle context, byte* protocols, uint length);

    [LibraryImport(Ssl)]
    public static partial SafeSslHandle SSL_new(SafeSslContextHandle context);

    [LibraryImport(Ssl)]
    internal static partial void SSL_free(nint ssl);

    [LibraryImport(Ssl)]
    public static partial int SSL_set_fd(SafeSslHandle ssl, int fd);

    [LibraryImport(Ssl)]
    private static partial long SSL_ctrl(SafeSslHandle ssl, int command, long larg, nint parg);

    [LibraryImport(Ssl)]
    public static partial int SSL_connect(SafeSslHandle ssl);

    [LibraryImport(Ssl)]
    public static partial int SSL_read(SafeSslHandle ssl, byte* buffer, int count);

    [LibraryImport(Ssl)]
    public static partial int SSL_write(SafeSslHandle ssl, byte* buffer, int count);

    [LibraryImport(Ssl)]
    public static partial int SSL_get_error(SafeSslHandle ssl, int result);

    [LibraryImport(Ssl)]
    public static partial int SSL_shutdown(SafeSslHandle ssl);

    [LibraryImport(Ssl)]
    private static partial nint SSL_get_peer_cert_chain(SafeSslHandle ssl);

    [LibraryImport(Ssl)]
    private static partial int SSL_use_certificate(SafeSslHandle ssl, nint x509);

    [LibraryImport(Ssl)]
    private static partial int SSL_use_PrivateKey(SafeSslHandle ssl, nint key);

    [LibraryImport(Crypto)]
    private static partial int OPENSSL_sk_num(nint stack);

    [LibraryImport(Crypto)]
    private static partial nint OPENSSL_sk_value(nint stack, int index);

    [LibraryImport(Crypto)]
    private static partial int i2d_X509(nint x509, byte** output);

    [LibraryImport(Crypto)]
    private static partial nint d2i_X509(nint reuse, byte** input, long length);

    [LibraryImport(Crypto)]
    private static partial void X509_free(nint x509);

    [LibraryImport(Crypto)]
    private static partial nint d2i_AutoPrivateKey(nint reuse, byte** input, long length);

    [LibraryImport(Crypto)]
    private static partial void EVP_PKEY_free(nint key);

    [LibraryImport(Crypto)]
    private static partial ulong ERR_get_error();

    [LibraryImport(Crypto)]
    public static partial void ERR_clear_error();

    [LibraryImport(Crypto)]
    private static partial void ERR_error_string_n(ulong code, byte* buffer, nuint length);
}

/// <summary>An OpenSSL <c>SSL_CTX</c>, freed when the last user lets go.</summary>
internal sealed class SafeSslContextHandle() : SafeHandle(0, ownsHandle: true)
{
    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        LibSsl.SSL_CTX_free(handle);
        return true;
    }
}

/// <summary>An OpenSSL <c>SSL</c> connection, freed only after every call that uses it has returned.</summary>
internal sealed class SafeSslHandle() : SafeHandle(0, ownsHandle: true)
{
    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        LibSsl.SSL_free(handle);
        return true;
    }
}
