namespace ImageActors.Persistence.Database;

/// <summary>An insert of a batch met a (persistence_id, sequence_number) that exists; which write's it is, is not known.</summary>
internal sealed class DuplicateRowException(Exception inner)
    : Exception("A row of the batch has a sequence number that is taken.", inner);
