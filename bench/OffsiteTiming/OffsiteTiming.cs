using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using BackupWorker.Repositories;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using TestSupport;

namespace OffsiteTiming;

/// <summary>
/// One run, one database: local backup (SQLite's online backup, as the worker takes it) alone and followed by a put
/// to Azurite per compression (encrypted), the stored sizes beside the command-line zstd -3 and lz4, and the restore
/// (download, decrypt, decompress, verify) from Azurite. Azurite is started here and killed by pid at the end.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var megabytes = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100;
        var work = Directory.CreateTempSubdirectory("offsite-timing-").FullName;
        await using var azurite = await AzuriteProcess.StartNewAsync();
        try
        {
            var database = Path.Combine(work, "source.db");
            Console.WriteLine($"Creating a {megabytes} MB SQLite database ...");
            SampleDatabase.Create(database, megabytes * 1024L * 1024);
            var size = new FileInfo(database).Length;
            var rows = new List<string[]>();
            var local = Path.Combine(work, "local.db");
            var localTime = Time(() => Backup(database, local));
            rows.Add(["local only (SQLite online backup)", Secs(localTime), Mb(size), "1.00", "-"]);
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            foreach (var compression in new[] { RepositoryCompression.Zstd, RepositoryCompression.Lz4, RepositoryCompression.None })
            {
                var repository = Repository(azurite.ConnectionString, compression, key);
                var objectKey = $"bench/{compression}.db";
                var sw = Stopwatch.StartNew();
                Backup(database, local);
                RepositoryObject stored;
                await using (var file = File.OpenRead(local)) stored = await repository.PutAsync(objectKey, file, CancellationToken.None);
                var total = sw.Elapsed;
                sw.Restart();
                var restored = Path.Combine(work, "restored.db");
                await using (var read = await repository.OpenReadAsync(objectKey, CancellationToken.None))
                await using (var output = File.Create(restored))
                    await read.CopyToAsync(output);
                var restore = sw.Elapsed;
                if (!File.ReadAllBytes(restored).AsSpan().SequenceEqual(File.ReadAllBytes(local))) throw new InvalidOperationException("restored copy differs");
                var label = compression == RepositoryCompression.Zstd ? "zstd level 3" : compression;
                rows.Add([$"local + Azurite, {label}, AES-256-GCM", Secs(total), Mb(stored.StoredBytes), Ratio(size, stored.StoredBytes), Secs(restore)]);
            }
            foreach (var (label, tool, toolArgs) in new[] { ("zstd -3", "zstd", "-3 -q -c"), ("lz4", "lz4", "-q -c") })
            {
                var output = Path.Combine(work, "cli." + tool);
                var elapsed = Time(() => RunTool(tool, toolArgs, local, output));
                var compressed = new FileInfo(output).Length;
                rows.Add([$"command line `{label}` of the local backup (no encryption, no upload)", Secs(elapsed), Mb(compressed), Ratio(size, compressed), "-"]);
            }
            Console.WriteLine();
            Console.WriteLine($"Database {Mb(size)} MB; load average {File.ReadAllText("/proc/loadavg").Trim()}");
            Console.WriteLine("| backup | time (s) | stored (MB) | ratio | restore from Azurite (s) |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
            foreach (var row in rows) Console.WriteLine($"| {string.Join(" | ", row)} |");
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static IBackupRepository Repository(string connectionString, string compression, string key)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:offsite"] = connectionString,
            ["Backup:Repositories:offsite:Kind"] = RepositoryKinds.AzureBlob,
            ["Backup:Repositories:offsite:Container"] = "bench-" + compression,
            ["Backup:Repositories:offsite:Compression"] = compression,
            ["Backup:Repositories:offsite:EncryptionKey"] = key,
        }).Build();
        var services = new ServiceCollection().AddLogging().AddBackupRepositories(configuration).BuildServiceProvider();
        return services.GetRequiredService<IBackupRepositories>().TryGet("offsite", out var repository)
            ? repository
            : throw new InvalidOperationException("no repository offsite");
    }

    private static void Backup(string source, string destination)
    {
        File.Delete(destination);
        using var from = new SqliteConnection($"Data Source={source};Mode=ReadOnly;Pooling=False");
        using var to = new SqliteConnection($"Data Source={destination};Pooling=False");
        from.Open();
        to.Open();
        from.BackupDatabase(to);
    }

    private static void RunTool(string tool, string toolArgs, string input, string output)
    {
        var psi = new ProcessStartInfo("sh", ["-c", $"{tool} {toolArgs} \"$1\" > \"$2\"", "sh", input, output]);
        using var process = Process.Start(psi)!;
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{tool} exited with {process.ExitCode} (is it installed? test.sh installs it)");
    }

    private static TimeSpan Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed;
    }

    private static string Secs(TimeSpan t) => t.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture);

    private static string Mb(long bytes) => (bytes / 1024.0 / 1024).ToString("0.0", CultureInfo.InvariantCulture);

    private static string Ratio(long original, long stored) => ((double)original / stored).ToString("0.00", CultureInfo.InvariantCulture);
}
