using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Platform.Sidecar.Hosting;
using Platform.Sidecar.Invocation;
using Platform.Sidecar.Security;

namespace Platform.Sidecar.Tests;

/// <summary>The name registry (app ids and their addresses, shared by the sidecars) is 0600 in a 0700 directory.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // file modes
public sealed class AppRegistryPrivacyTests : IDisposable
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = Private | UnixFileMode.UserExecute;
    private readonly string _parent = Directory.CreateTempSubdirectory("registry-private-").FullName;

    private AppRegistry Registry(string file)
    {
        var options = new SidecarOptions { AppId = "worker", DaprHttpPort = 1001, NameResolutionSqlite = file };
        return new(Options.Create(options), Security.SidecarSecurity.Create(options), new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z")), NullLogger<AppRegistry>.Instance);
    }

    [Fact]
    public async Task A_new_registry_is_0600_in_a_0700_directory_and_its_wal_follows()
    {
        var file = Path.Combine(_parent, "run", "nameresolution.db");
        var registry = Registry(file);
        await registry.EnsureSchemaAsync(CancellationToken.None);
        // A connection that wrote and stays open keeps the -wal and -shm files in place to look at.
        using var connection = new SqliteConnection($"Data Source={file};Pooling=false");
        connection.Open();
        using (var write = connection.CreateCommand())
        {
            write.CommandText = "CREATE TABLE probe(x); INSERT INTO probe VALUES(1)";
            write.ExecuteNonQuery();
        }

        Assert.Equal(PrivateDirectory, File.GetUnixFileMode(Path.GetDirectoryName(file)!));
        Assert.Equal(Private, File.GetUnixFileMode(file));
        Assert.Equal(Private, File.GetUnixFileMode(file + "-wal"));
        Assert.Equal(Private, File.GetUnixFileMode(file + "-shm"));
    }

    [Fact]
    public async Task An_existing_world_readable_registry_is_narrowed()
    {
        var file = Path.Combine(_parent, "nameresolution.db");
        await Registry(file).EnsureSchemaAsync(CancellationToken.None);
        File.SetUnixFileMode(file, Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.SetUnixFileMode(_parent, PrivateDirectory | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);

        await Registry(file).EnsureSchemaAsync(CancellationToken.None);

        Assert.Equal(Private, File.GetUnixFileMode(file));
        Assert.Equal(PrivateDirectory, File.GetUnixFileMode(_parent));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_parent, recursive: true); } catch (IOException) { }
    }
}
