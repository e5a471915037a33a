using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>What only the SQLite store does; what every store does is in <see cref="StoreContractTests"/>.</summary>
public class SqliteStoreTests
{
    [Fact]
    public async Task Second_store_on_the_same_directory_is_refused()
    {
        var dir = Directory.CreateTempSubdirectory("store-lock-").FullName;
        try
        {
            await using (var first = new SqliteJobStore(dir))
            {
                await first.OpenAsync();
                await using var second = new SqliteJobStore(dir);
                var e = await Assert.ThrowsAsync<InvalidOperationException>(() => second.OpenAsync());
                Assert.Contains("in use by another scheduler", e.Message);
            }
            await using var third = new SqliteJobStore(dir);
            await third.OpenAsync();                           // released on dispose
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, true);
        }
    }
}
