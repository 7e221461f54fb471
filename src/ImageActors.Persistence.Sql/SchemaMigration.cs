namespace ImageActors.Persistence.Sql;

/// <summary>
/// One numbered step of a store's schema. Steps are applied in order, each once, inside one
/// transaction with the row that records it in <c>schema_version</c>; a step that has been
/// released is never edited — a change is a new step.
/// </summary>
/// <param name="Version">The step's number, from 1, without gaps.</param>
/// <param name="Description">What the step does, recorded in <c>schema_version</c>.</param>
/// <param name="Statements">The SQL statements, each idempotent where the dialect allows it.</param>
public sealed record SchemaMigration(int Version, string Description, IReadOnlyList<string> Statements);
