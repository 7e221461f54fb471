using System.Text.Json.Serialization;
using ImageActors.Actors.Persistence;
using ImageActors.Persistence.Sql;
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

    /// <summary>
    /// The raw baseline: <paramref name="eventsPerId"/> / <paramref name="eventsPerWrite"/> transactions, each
    /// inserting <paramref name="eventsPerWrite"/> rows for every id with one reused prepared statement. Without
    /// <paramref name="keys"/> it writes the version 1 schema (no persistence_key column).
    /// </summary>
    public static void RawInsertRounds(SqliteConnection connection, string[] ids, long[]? keys, long[] next, byte[] payload, int eventsPerWrite, int eventsPerId)
    {
        using var insert = connection.CreateCommand();
        insert.CommandText = keys is null
            ? "INSERT INTO journal (persistence_id, sequence_nr, created, manifest, payload, tags, writer_uuid) VALUES (@pid, @seq, @created, @manifest, @payload, NULL, @writer)"
            : "INSERT INTO journal (persistence_key, persistence_id, sequence_nr, created, manifest, payload, tags, writer_uuid) VALUES (@key, @pid, @seq, @created, @manifest, @payload, NULL, @writer)";
        var key = keys is null ? null : insert.Parameters.Add("@key", SqliteType.Integer);
        var pid = insert.Parameters.Add("@pid", SqliteType.Text);
        var seq = insert.Parameters.Add("@seq", SqliteType.Integer);
        insert.Parameters.Add("@created", SqliteType.Integer).Value = DateTimeOffset.UtcNow.UtcTicks;
        insert.Parameters.Add("@manifest", SqliteType.Text).Value = "bench.image-touched.v1";
        insert.Parameters.Add("@payload", SqliteType.Blob).Value = payload;
        insert.Parameters.Add("@writer", SqliteType.Text).Value = "raw";
        for (var round = 0; round < eventsPerId / eventsPerWrite; round++)
        {
            using var tx = connection.BeginTransaction();
            insert.Transaction = tx;
            for (var i = 0; i < ids.Length; i++)
            {
                if (key is not null)
                {
                    key.Value = keys![i];
                }

                pid.Value = ids[i];
                for (var e = 0; e < eventsPerWrite; e++)
                {
                    seq.Value = ++next[i];
                    insert.ExecuteNonQuery();
                }
            }

            tx.Commit();
        }
    }

    /// <summary>What one persistent actor does in the journal benchmarks: its events, <paramref name="eventsPerWrite"/> per atomic write, one write after the other.</summary>
    public static async Task PersistAsync(SqlJournal journal, string id, long[] next, int index, int eventsPerWrite, int eventsPerId)
    {
        for (var n = 0; n < eventsPerId / eventsPerWrite; n++)
        {
            var events = new PersistentRepresentation[eventsPerWrite];
            for (var e = 0; e < events.Length; e++)
            {
                var seq = ++next[index];
                events[e] = new PersistentRepresentation(id, seq, new ImageTouched(seq, Fingerprint, Note), "bench", default, []);
            }

            await journal.WriteAsync(new AtomicWrite(id, events));
        }
    }
}
