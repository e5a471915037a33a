using System.Globalization;
using System.Net;
using System.Text.Json;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>The sidecar against a real scheduler that crashes: it reconnects by itself and nothing due meanwhile is lost.</summary>
public sealed class SchedulerRestartTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static async Task<int> ConnectedSchedulersAsync(HttpClient http)
    {
        using var doc = JsonDocument.Parse(await http.GetStringAsync("/v1.0/metadata"));
        return doc.RootElement.GetProperty("scheduler").GetProperty("connected_addresses").GetArrayLength();
    }

    [Fact]
    public async Task Sidecar_reconnects_to_a_restarted_scheduler_and_delivers_what_fell_due_while_it_was_down()
    {
        await using var scheduler = await SchedulerProcess.StartAsync();
        await using var app = await HttpTestApp.StartAsync();
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings(Sidecars.UniqueAppId("reconnect"))
        {
            AppPort = app.Port,
            SchedulerHostAddress = scheduler.HostAddress,
        });
        await sidecar.WaitForSchedulerStreamAsync();
        using var http = sidecar.HttpClient();
        // Far enough ahead that scheduling and the kill are over before it, even on a loaded machine (5 s was not, at a
        // load average of 50).
        var due = DateTimeOffset.UtcNow.AddSeconds(10);
        var body = $$"""{"dueTime":"{{due.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)}}","data":"held"}""";
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostJobAsync("held", body)).StatusCode);

        var beforeKill = sidecar.Process.Output.Count();
        await scheduler.KillAsync();
        Assert.True(DateTimeOffset.UtcNow < due, "the set-up took longer than the margin: the job fell due before the scheduler was killed");
        await Poll.UntilAsync(async () => await ConnectedSchedulersAsync(http) == 0, Wait, "the sidecar seeing its scheduler stream end");
        // The job must fall due while no scheduler runs: this waits for the clock, not for an event.
        if (due - DateTimeOffset.UtcNow is { Ticks: > 0 } left) await Task.Delay(left);
        Assert.False(app.Jobs.Reader.TryRead(out _), "a trigger arrived with no scheduler running");

        await scheduler.RestartAsync();
        await sidecar.WaitForSchedulerStreamAsync(Wait);
        // The stream broke once, at the kill; then it waited for the scheduler's port (asking gRPC to connect every
        // 150 ms) and opened on its first attempt after that, instead of failing an attempt every 0.25-0.75 s (and
        // opening 1-2 s after the scheduler listened again, behind gRPC's reconnect back-off).
        var broken = sidecar.Process.Output.Skip(beforeKill)
            .Where(l => l.Contains("Job stream to scheduler", StringComparison.Ordinal) && l.Contains(" broke: ", StringComparison.Ordinal)).ToList();
        Assert.True(broken.Count <= 1, $"the stream broke {broken.Count} times, expected once at most (the kill):" + Environment.NewLine + string.Join(Environment.NewLine, broken));
        var delivered = await app.Jobs.NextAsync(Wait, "the trigger that fell due while the scheduler was down");
        Assert.Equal("/job/held", delivered.Path);
        Assert.Contains("held", delivered.BodyText);
        // Delivered once: the one-shot job is deleted after its answer, so nothing can follow.
        await Poll.UntilAsync(async () => (await http.GetAsync("/v1.0-alpha1/jobs/held")).StatusCode != HttpStatusCode.OK, Wait, "the job deleted");
        Assert.False(app.Jobs.Reader.TryRead(out var extra), $"delivered twice: {extra?.BodyText}");
    }
}
