namespace BackupWorker.Backups;

/// <summary>A table of a database and its row count.</summary>
public sealed record TableRows(string Name, long Rows);

/// <summary>
/// What a database held: its tables with their row counts and a hash of its schema. Recorded from the backup file
/// when the backup is taken, and read again from a drill's scratch restore to compare.
/// </summary>
public sealed record DatabaseManifest(string SchemaHash, IReadOnlyList<TableRows> Tables)
{
    /// <summary>Every way <paramref name="actual"/> differs from this one; empty when they agree.</summary>
    public IReadOnlyList<string> Differences(DatabaseManifest actual)
    {
        var differences = new List<string>();
        if (SchemaHash != actual.SchemaHash) differences.Add($"schema hash {actual.SchemaHash[..12]} instead of {SchemaHash[..12]}");
        var expected = Tables.ToDictionary(t => t.Name, t => t.Rows, StringComparer.Ordinal);
        var found = actual.Tables.ToDictionary(t => t.Name, t => t.Rows, StringComparer.Ordinal);
        foreach (var (name, rows) in expected)
        {
            if (!found.TryGetValue(name, out var got)) differences.Add($"table {name} is missing");
            else if (got != rows) differences.Add($"table {name} has {got} rows instead of {rows}");
        }
        foreach (var name in found.Keys.Where(n => !expected.ContainsKey(n))) differences.Add($"table {name} was not in the backup");
        return differences;
    }
}
