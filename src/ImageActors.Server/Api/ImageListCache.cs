using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using ImageActors.Images.Domain;
using ImageActors.Server.Images;

namespace ImageActors.Server.Api;

/// <summary>What a cached answer of <c>GET /1.0/images</c> depends on besides the catalog.</summary>
/// <param name="Project">The project listed.</param>
/// <param name="Trusted">Whether the caller sees private images too.</param>
/// <param name="Recursive">Image objects (<c>recursion=1</c>) rather than URLs.</param>
/// <param name="Filter">The <c>filter=</c> text, empty for none.</param>
/// <param name="Family">Whose client asked, for image objects (their <c>update_source.protocol</c> differs).</param>
internal readonly record struct ImageListKey(ProjectName Project, bool Trusted, bool Recursive, string Filter, ClientFamily Family);

/// <summary>A serialized list answer: the whole response body and its ETag (a hash of the body).</summary>
/// <param name="Body">The JSON envelope, ending in a newline.</param>
/// <param name="ETag">The quoted strong ETag.</param>
internal sealed record ImageListBody(byte[] Body, string ETag);

/// <summary>
/// The serialized answers of <c>GET /1.0/images</c> for one view of a backend's catalog. The catalog's view is
/// immutable and replaced on every write, so an answer built after reading the view's identity stays right for
/// as long as the identity does not change: a new identity starts an empty generation (one reference swap) and
/// the old answers are never served again. Answers are keyed by project, caller trust, recursion, filter and client family, so
/// an untrusted caller can never be handed an answer made for a trusted one.
/// </summary>
internal sealed class ImageListCache
{
    /// <summary>How many distinct answers one generation keeps (filters are free text); beyond that they are built per request.</summary>
    internal const int MaxAnswers = 64;

    /// <summary>How many bytes of answers one generation keeps; an answer past that is served once and dropped.</summary>
    internal const long MaxBytes = 64L << 20;

    private static readonly ConditionalWeakTable<IImageBackend, ImageListCache> Caches = new();

    private Generation? _current;

    /// <summary>The cache of <paramref name="backend"/>.</summary>
    public static ImageListCache For(IImageBackend backend) => Caches.GetValue(backend, static _ => new ImageListCache());

    /// <summary>
    /// The answer for <paramref name="key"/> at <paramref name="version"/>; <paramref name="build"/> makes it when it
    /// is not cached (once, however many requests ask at the same time). It must read the catalog only after
    /// <paramref name="version"/> was read, so that what it sees is at least as new.
    /// </summary>
    public async Task<ImageListBody> GetAsync(object? version, ImageListKey key, Func<ImageListBody> build)
    {
        if (version is null)
        {
            return build();
        }

        var generation = Volatile.Read(ref _current);
        if (generation is null || !ReferenceEquals(generation.Version, version))
        {
            var fresh = new Generation(version);
            var seen = Interlocked.CompareExchange(ref _current, fresh, generation);
            generation = ReferenceEquals(seen, generation) ? fresh : seen!;
            if (!ReferenceEquals(generation.Version, version))
            {
                // Another request installed a different view meanwhile; answer without caching.
                return build();
            }
        }

        if (!generation.Answers.TryGetValue(key, out var answer))
        {
            if (generation.Answers.Count >= MaxAnswers)
            {
                return build();
            }

            answer = generation.Answers.GetOrAdd(
                key,
                static (key, state) => new Lazy<Task<ImageListBody>>(() => Task.Run(() => state.Generation.Keep(key, state.Build()))),
                (Generation: generation, Build: build));
        }

        try
        {
            return await answer.Value.ConfigureAwait(false);
        }
        catch
        {
            generation.Answers.TryRemove(KeyValuePair.Create(key, answer));
            throw;
        }
    }

    private sealed class Generation(object version)
    {
        private long _bytes;

        public object Version { get; } = version;

        public ConcurrentDictionary<ImageListKey, Lazy<Task<ImageListBody>>> Answers { get; } = new();

        /// <summary>Counts a new answer against the byte budget, and forgets it (it is still returned) when over.</summary>
        public ImageListBody Keep(ImageListKey key, ImageListBody answer)
        {
            if (Interlocked.Add(ref _bytes, answer.Body.Length) > MaxBytes)
            {
                Answers.TryRemove(key, out _);
            }

            return answer;
        }
    }
}
