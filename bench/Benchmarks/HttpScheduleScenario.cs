using System.Diagnostics;
using System.Net;
using System.Text;

namespace Benchmarks;

/// <summary>
/// Dapr's TestJobSchedulingPerformance over the sidecar's HTTP API (issue 4), through the real scheduler and sidecar processes (<see cref="SidecarStack"/>)
/// and an HTTP app hosted in this harness (<see cref="JobApp"/>).
/// </summary>
public static class HttpScheduleScenario
{
    public const double TargetHttpSchedulePerSecond = 5_000;

    public static async Task RunHttpScheduleAsync(BenchOptions o)
    {
        var seconds = o.Double("seconds", 20);
        var connections = o.Int("connections", 16);
        var warmup = o.Double("warmup", SchedulerScenarios.JitWarmupSeconds);
        var mtls = o.Bool("mtls", true);
        var table = new Table($"http-schedule: Dapr TestJobSchedulingPerformance, POST /v1.0/jobs/{{uuid}} {{\"dueTime\":\"24h\",\"data\":\"perftest\"}}, {connections} connections, {seconds:0} s",
            "path", "requests/s", "errors", "p50 ms", "p99 ms", "CPU per request", "2-core ceiling/s: scheduler + sidecar (share) | with the client (share)", "target >=5,000/s, 0 errors");
        Machine.Note("http-schedule: starting scheduler + sidecar + app");
        await using var stack = await SidecarStack.StartAsync("bench-http", mtls);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections, UseCookies = false })
        {
            BaseAddress = new Uri(stack.Sidecar.HttpEndpoint),
        };
        var body = Encoding.UTF8.GetBytes("""{"dueTime":"24h","data":"perftest"}""");
        var cpu = new CpuWindow(("scheduler", stack.Scheduler.Process.Id), ("sidecar", stack.Sidecar.Process.Id), ("harness client", Environment.ProcessId));
        var result = await SchedulerScenarios.DriveAsync(connections, seconds, warmup, async ct =>
        {
            using var content = new ByteArrayContent(body);
            content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
            using var response = await http.PostAsync("/v1.0/jobs/" + Guid.NewGuid(), content, ct);
            if (response.StatusCode != HttpStatusCode.NoContent && !response.IsSuccessStatusCode)
                throw new HttpRequestException($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
        }, cpu);
        table.Add($"HTTP/1.1 -> sidecar -> gRPC{(mtls ? " (mTLS)" : " (h2c, --mtls false)")} -> scheduler (durable)", result.Rate, result.Errors, result.Lat.P50, result.Lat.P99,
            cpu.PerOp(result.Done), cpu.Ceilings(result.Rate, result.Done, servers: 2),
            result.Errors == 0 ? Verdict.AtLeast(result.Rate, TargetHttpSchedulePerSecond) : "MISS (errors)");
        table.Print();
        Console.WriteLine("2-core ceiling = requests/s two idle cores could carry, counting the scheduler and sidecar processes only (Dapr's load generator runs elsewhere), then the harness's client too, which here shares the two cores; share = requests/s / that ceiling.");
    }
}
