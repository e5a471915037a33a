using Microsoft.Data.Sqlite;

namespace OffsiteTiming;

/// <summary>
/// An orders database of a given size: ids, timestamps, customer names and addresses from small lists, amounts and a
/// short note, so it compresses roughly as business data does (not as all-zero pages or random bytes would).
/// </summary>
internal static class SampleDatabase
{
    private static readonly string[] Names = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov", "Donald Knuth", "Margaret Hamilton", "Ken Thompson"];
    private static readonly string[] Cities = ["Amsterdam", "Berlin", "Lisbon", "Oslo", "Prague", "Vienna", "Warsaw", "Zurich"];
    private static readonly string[] Statuses = ["new", "paid", "shipped", "delivered", "returned"];

    public static void Create(string path, long targetBytes)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using (var create = connection.CreateCommand())
        {
            create.CommandText = "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; CREATE TABLE orders (id INTEGER PRIMARY KEY, created TEXT, customer TEXT, city TEXT, status TEXT, amount REAL, reference TEXT, note TEXT);";
            create.ExecuteNonQuery();
        }
        var random = new Random(27);
        var start = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var id = 0L;
        while (new FileInfo(path).Length < targetBytes)
        {
            using var transaction = connection.BeginTransaction();
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO orders VALUES ($id, $created, $customer, $city, $status, $amount, $reference, $note)";
            var parameters = new[] { "$id", "$created", "$customer", "$city", "$status", "$amount", "$reference", "$note" }
                .Select(n => insert.Parameters.Add(new SqliteParameter { ParameterName = n })).ToArray();
            for (var i = 0; i < 50_000; i++)
            {
                id++;
                parameters[0].Value = id;
                parameters[1].Value = start.AddSeconds(id * 7 + random.Next(5)).ToString("O");
                parameters[2].Value = Names[random.Next(Names.Length)];
                parameters[3].Value = Cities[random.Next(Cities.Length)];
                parameters[4].Value = Statuses[random.Next(Statuses.Length)];
                parameters[5].Value = Math.Round(random.NextDouble() * 500, 2);
                parameters[6].Value = Guid.NewGuid().ToString("N");
                parameters[7].Value = $"order {id} for {Names[random.Next(Names.Length)]}, {random.Next(1, 9)} items, deliver to {Cities[random.Next(Cities.Length)]}";
                insert.ExecuteNonQuery();
            }
            transaction.Commit();
        }
    }
}
