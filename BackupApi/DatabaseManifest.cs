namespace BackupApi;

// The API's own copy of what BackupWorker answers: the two apps share no assembly on purpose (they deploy and
// version separately).

public sealed record TableRows(string Name, long Rows);

/// <summary>What a backup held when it was taken: its tables with row counts, and a hash of its schema.</summary>
public sealed record DatabaseManifest(string SchemaHash, List<TableRows> Tables);
