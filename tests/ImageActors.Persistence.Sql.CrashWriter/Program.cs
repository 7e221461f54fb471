using System.Text.Json.Serialization;
using ImageActors.Actors.Persistence;
using ImageActors.Persistence.Sql.PostgreSql;
using ImageActors.Persistence.Sql.Serialization;
using ImageActors.Persistence.Sql.Sqlite;

namespace ImageActors.Persistence.Sql.CrashWriter;

/// <summary>The event the crash writer persists (about 200 bytes of JSON).</summary>
public sealed record Tick(long Number, string Filler);

[JsonSerializable(typeof(Tick))]
internal sealed partial class CrashWriterJson : JsonSerializerContext;

/// <summary>
/// Persists as fast as it can from many writers (one persistence id each, one write in flight per
/// id, like a persistent actor) and prints "persistence-id sequence-nr" for every write after the
/// journal acknowledged it. Usage: <c>sqlite PATH WRITERS</c> or <c>postgresql CONNECTION-STRING WRITERS</c>.
/// </summary>
public static class Program
{
    /// <summary>The registry the writer and the test that checks its journal share.</summary>
    public static EventManifestRegistry Registry() => new EventManifestRegistry().Register("crash-test.tick.v1", CrashWriterJson.Default.Tick);

    public static async Task<int> Main(string[] args)
    {
        if (args.Length != 3 || !int.TryParse(args[2], out var writers))
        {
            await Console.Error.WriteLineAsync("usage: sqlite PATH WRITERS | postgresql CONNECTION-STRING WRITERS");
            return 2;
        }

        SqlStore store = args[0] switch
        {
            "sqlite" => await SqliteStore.OpenAsync(new SqliteSettings(args[1])),
            "postgresql" => await PostgreSqlStore.OpenAsync(new PostgreSqlSettings(args[1])),
            _ => throw new ArgumentException($"Unknown store '{args[0]}'."),
        };
        var journal = new SqlJournal(store, Registry());
        var output = Console.Out;
        var filler = new string('x', 160);
        var incarnation = Guid.NewGuid().ToString("N");

        await Task.WhenAll(Enumerable.Range(0, writers).Select(async w =>
        {
            var id = $"crash-{w}";
            var seq = await journal.ReadHighestSequenceNrAsync(id);
            while (true)
            {
                seq++;
                var e = new PersistentRepresentation(id, seq, new Tick(seq, filler), incarnation, default, []);
                await journal.WriteAsync(new AtomicWrite(id, [e]));
                lock (output)
                {
                    output.WriteLine($"{id} {seq}");
                }
            }
        }));
        return 0;
    }
}
