using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;
using static Platform.Scheduler.Tests.Engine.EngineHarness;

namespace Platform.Scheduler.Tests.Engine;

/// <summary>
/// Jobs loaded at start keep their data in the store and the engine reads it back per trigger (issue 26, item 4): a
/// trigger carries the data stored for the definition it fires, whatever happened to the row since the load.
/// </summary>
public sealed class DeferredDataEngineTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("deferred-engine-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, true); } catch (IOException) { }
    }

    [Fact]
    public async Task A_loaded_job_fires_with_its_stored_data_and_an_overwrite_with_the_new_data()
    {
        await StoreAndRestartWithAsync("j", "first");
        await using var h = await StartAsync(_directory);
        using var stream = h.Engine.OpenStream("default", "app1");
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var t = await stream.NextAsync();
        Assert.Equal("first", Unpack(t.Data));
        stream.Ack(t.Id, true);

        await h.ScheduleAsync("j", schedule: "@every 1s", overwrite: true, data: Any.Pack(new StringValue { Value = "second" }));
        h.Time.Advance(TimeSpan.FromSeconds(1));
        t = await stream.NextAsync();
        Assert.Equal("second", Unpack(t.Data));
        stream.Ack(t.Id, true);
    }

    [Theory]
    [InlineData("UPDATE jobs SET partition_id = partition_id + 1, data = x'0a0b' WHERE name = 'j'")]
    [InlineData("DELETE FROM jobs WHERE name = 'j'")]
    public async Task A_loaded_job_replaced_in_the_store_before_the_engine_hears_of_it_sends_nothing_stale(string change)
    {
        await StoreAndRestartWithAsync("j", "first");
        await using var h = await StartAsync(_directory);
        using var stream = h.Engine.OpenStream("default", "app1");
        // The store has committed an overwrite or a deletion whose report has not reached the engine yet (the writer
        // commits, then reports): the definition held is no longer the stored one, so its trigger must not go out.
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(_directory, "scheduler.db"), Pooling = false }.ToString()))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = change;
            Assert.Equal(1, command.ExecuteNonQuery());
        }
        h.Time.Advance(TimeSpan.FromSeconds(1));
        await h.AssertNothingPendingAsync(stream);
        // Forgotten, as the change it did not hear of would have made it.
        Assert.Equal(0, h.Engine.JobCount);
    }

    private async Task StoreAndRestartWithAsync(string name, string data)
    {
        var h = await StartAsync(_directory);
        await h.ScheduleAsync(name, schedule: "@every 1s", data: Any.Pack(new StringValue { Value = data }));
        await h.StopAsync();
    }

    private static string Unpack(byte[]? data) => Any.Parser.ParseFrom(data).Unpack<StringValue>().Value;
}
