using BackupWorker.Backups;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using BackupWorker.Hosting;

namespace BackupWorker.Restore;

/// <summary>
/// Reads a <see cref="DatabaseManifest"/> the same way from a backup and from a restored copy, so the two compare:
/// SQLite from the file itself; PostgreSQL from the dump's SQL text (a restored database is dumped again and read
/// with the same parser).
/// </summary>
public sealed class DatabaseManifests(PostgresTools postgres)
{
    /// <summary>Tables (not SQLite's own), their row counts, and a SHA-256 of every schema entry's SQL in name order.</summary>
    public static DatabaseManifest ReadSqlite(string file)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        var schema = new StringBuilder();
        var tables = new List<string>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                schema.Append(reader.GetString(0)).Append('\t').Append(reader.GetString(1)).Append('\t').Append(reader.GetString(2)).Append('\t').Append(reader.GetString(3)).Append('\n');
                if (reader.GetString(0) == "table") tables.Add(reader.GetString(1));
            }
        }
        var counts = new List<TableRows>();
        foreach (var table in tables)
        {
            using var count = connection.CreateCommand();
            count.CommandText = $"SELECT count(*) FROM \"{table.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
            counts.Add(new TableRows(table, (long)count.ExecuteScalar()!));
        }
        return new DatabaseManifest(Hash(schema.ToString()), counts);
    }

    /// <summary>The manifest of a custom-format dump (read through <c>pg_restore -f -</c>).</summary>
    public async Task<DatabaseManifest> ReadPostgresDumpAsync(string dumpFile, CancellationToken cancellationToken)
    {
        var parser = new PlainDumpParser();
        await postgres.ReadDumpAsync(dumpFile, parser.Line, cancellationToken);
        return parser.Result();
    }

    /// <summary>The manifest of a live database (read through <c>pg_dump</c>).</summary>
    public async Task<DatabaseManifest> ReadPostgresDatabaseAsync(PostgresServerAddress server, string database, CancellationToken cancellationToken)
    {
        var parser = new PlainDumpParser();
        await postgres.ReadDatabaseAsync(server, database, parser.Line, cancellationToken);
        return parser.Result();
    }

    internal static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>
    /// pg_dump's plain SQL: each <c>COPY t (...) FROM stdin;</c> block is a table and its lines are its rows; the other
    /// statements are the schema. Comments, session settings, sequence positions and the per-run <c>\restrict</c> key
    /// differ between two dumps of equal databases, so they are left out of the hash.
    /// </summary>
    internal sealed class PlainDumpParser
    {
        private readonly IncrementalHash _schema = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly List<TableRows> _tables = [];
        private string? _copying;
        private long _rows;

        public void Line(string line)
        {
            if (_copying is not null)
            {
                if (line == "\\.")
                {
                    _tables.Add(new TableRows(_copying, _rows));
                    _copying = null;
                }
                else _rows++;
                return;
            }
            if (line.StartsWith("COPY ", StringComparison.Ordinal) && line.EndsWith(" FROM stdin;", StringComparison.Ordinal))
            {
                var name = line[5..];
                _copying = name[..name.IndexOf(' ', StringComparison.Ordinal)];
                _rows = 0;
                return;
            }
            if (line.Length == 0 || line.StartsWith("--", StringComparison.Ordinal) || line.StartsWith("SET ", StringComparison.Ordinal)
                || line.StartsWith("SELECT pg_catalog.set_config(", StringComparison.Ordinal) || line.StartsWith("SELECT pg_catalog.setval(", StringComparison.Ordinal)
                || line.StartsWith("\\restrict", StringComparison.Ordinal) || line.StartsWith("\\unrestrict", StringComparison.Ordinal))
                return;
            _schema.AppendData(Encoding.UTF8.GetBytes(line + "\n"));
        }

        public DatabaseManifest Result() =>
            new(Convert.ToHexStringLower(_schema.GetHashAndReset()), _tables.OrderBy(t => t.Name, StringComparer.Ordinal).ToList());
    }
}
