using BackupWorker.Backups;
using BackupWorker.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace BackupWorker.Demo;

/// <summary>The embedded default database <c>my-prod-db</c>: a SQLite file seeded with sample rows on first start.</summary>
public static class DemoDatabase
{
    public const string Name = "my-prod-db";
    public const string DefaultConnectionString = "Data Source=databases/my-prod-db.db";

    /// <summary>Adds <c>my-prod-db</c> to the configured databases unless configuration already names it.</summary>
    public static void AddDefault(BackupOptions options)
    {
        if (!options.Databases.ContainsKey(Name))
            options.Databases[Name] = new DatabaseOptions { Provider = "sqlite", ConnectionString = DefaultConnectionString };
    }

    /// <summary>Creates and fills the embedded database file when it does not exist yet.</summary>
    public static void EnsureSeeded(IOptions<BackupOptions> options, BackupPaths paths, ILogger logger)
    {
        if (!options.Value.Databases.TryGetValue(Name, out var database) || !database.Provider.Equals("sqlite", StringComparison.OrdinalIgnoreCase)) return;
        var builder = new SqliteConnectionStringBuilder(database.ConnectionString) { Pooling = false };
        var file = paths.Resolve(builder.DataSource);
        if (File.Exists(file)) return;
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var rows = Seed(file);
        logger.Seeded(Name, file, rows);
    }

    /// <summary>
    /// Writes the sample schema and rows into a new file (to a temp name first, so a crash never leaves half a seed).
    /// The temp name is unique per call because several worker replicas may seed one data directory at once;
    /// the first to finish wins and the others discard their copy.
    /// </summary>
    public static int Seed(string file)
    {
        var temp = $"{file}.{Guid.NewGuid():N}.seeding";
        var rows = 0;
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = temp, Pooling = false }.ToString()))
        {
            connection.Open();
            using var transaction = connection.BeginTransaction();
            using (var create = connection.CreateCommand())
            {
                create.CommandText = """
                    CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
                    CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), amount_cents INTEGER NOT NULL, status TEXT NOT NULL);
                    CREATE INDEX orders_by_customer ON orders(customer_id);
                    """;
                create.ExecuteNonQuery();
            }
            string[] statuses = ["pending", "paid", "shipped", "delivered"];
            for (var c = 1; c <= 50; c++)
            {
                using var insert = connection.CreateCommand();
                insert.CommandText = "INSERT INTO customers(id, name, email, created_at) VALUES($id, $name, $email, $at)";
                insert.Parameters.AddWithValue("$id", c);
                insert.Parameters.AddWithValue("$name", $"Customer {c:000}");
                insert.Parameters.AddWithValue("$email", $"customer{c:000}@example.com");
                insert.Parameters.AddWithValue("$at", new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddDays(c).ToString("O"));
                insert.ExecuteNonQuery();
                rows++;
                for (var o = 0; o < 4; o++)
                {
                    using var order = connection.CreateCommand();
                    order.CommandText = "INSERT INTO orders(customer_id, amount_cents, status) VALUES($c, $amount, $status)";
                    order.Parameters.AddWithValue("$c", c);
                    order.Parameters.AddWithValue("$amount", (c * 137 + o * 71) % 50_000 + 100);
                    order.Parameters.AddWithValue("$status", statuses[(c + o) % statuses.Length]);
                    order.ExecuteNonQuery();
                    rows++;
                }
            }
            transaction.Commit();
        }
        try
        {
            File.Move(temp, file, overwrite: false);
        }
        catch (IOException) when (File.Exists(file))
        {
            File.Delete(temp);
        }
        return rows;
    }
}
