using System.Text.Json.Serialization;
using ImageActors.Persistence.Sql.Serialization;
using Microsoft.Data.Sqlite;

namespace ImageActors.Benchmarks.Persistence;

/// <summary>An event of about 200 bytes of JSON, like an image's metadata change.</summary>
public sealed record ImageTouched(long Number, string Fingerprint, string Note);

/// <summary>A snapshot of one persistence id's state.</summary>
public sealed record ImageTouchedTotals(long Touches, string Fingerprint);

[JsonSerializable(typeof(ImageTouched))]
[JsonSerializable(typeof(ImageTouchedTotals))]
internal sealed partial class BenchmarkEventsJson : JsonSerializerContext;

internal static class BenchmarkEvents
{
    public const string Fingerprint = "a3f1c9e0b7d24f5e8c6a1b2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5";

    public static readonly string Note = new('n', 80);

    public static EventManifestRegistry Registry() => new EventManifestRegistry()
        .Register("bench.image-touched.v1", BenchmarkEventsJson.Default.ImageTouched)
        .Register("bench.image-touched-totals.v1", BenchmarkEventsJson.Default.ImageTouchedTotals);

    /// <summary>Where a benchmark puts its database; kept out of the source tree.</summary>
    public static DirectoryInfo TempDirectory() => Directory.CreateTempSubdirectory("imageactors-bench-");

    /// <summary>Reads a scale from the environment (so a full run can be asked for without a rebuild).</summary>
    public static int Scale(string variable, int shortRun) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), out var value) && value > 0 ? value : shortRun;

    /// <summary>
    /// Gives the raw loop's ids their integer keys in <c>journal_persistence_ids</c>, as the
    /// journal does in the transaction of an id's first events (and then keeps in its cache).
    /// </summary>
    public static long[] InsertPersistenceKeys(SqliteConnection connection, IReadOnlyList<string> ids)
    {
        using var tx = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = "INSERT INTO journal_persistence_ids (persistence_id) VALUES (@pid) RETURNING persistence_key";
        var pid = insert.Parameters.Add("@pid", SqliteType.Text);
        var keys = new long[ids.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            pid.Value = ids[i];
            keys[i] = (long)insert.ExecuteScalar()!;
        }

        tx.Commit();
        return keys;
    }
}
