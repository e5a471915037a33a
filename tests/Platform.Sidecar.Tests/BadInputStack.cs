using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf.WellKnownTypes;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>A scheduler and one sidecar of their own for the bad-input tables, holding a canary job no input may disturb.</summary>
public sealed class BadInputStack : IAsyncLifetime
{
    public const string AppId = "bad-input";
    public static readonly Any CanaryData = Any.Pack(new StringValue { Value = "precious" });

    public SchedulerProcess Scheduler { get; private set; } = null!;
    public SidecarProcess Sidecar { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public Dapr.Client.Autogen.Grpc.v1.Dapr.DaprClient Grpc { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Scheduler = await SchedulerProcess.StartAsync(extraArgs: ["--max-job-data-size", "65536"]);
        Sidecar = await SidecarProcess.StartAsync(new SidecarSettings(AppId)
        {
            SchedulerHostAddress = Scheduler.HostAddress,
            ExtraArgs = ["--max-body-size", "1Mi"],
        });
        await Sidecar.WaitForSchedulerStreamAsync();
        Http = Sidecar.HttpClient();
        Grpc = Sidecar.GrpcClient();
        await Grpc.ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "canary", Schedule = "@daily", Repeats = 7, Data = CanaryData } });
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (Sidecar is not null) await Sidecar.DisposeAsync();
        if (Scheduler is not null) await Scheduler.DisposeAsync();
    }

    /// <summary>Names of the app's jobs (via gRPC ListJobs).</summary>
    public async Task<List<string>> JobNamesAsync() => [.. (await Grpc.ListJobsAsync(new ListJobsRequest())).Jobs.Select(j => j.Name)];

    /// <summary>Asserts the canary is as stored, removes anything a row was allowed to add, and checks nothing else changed.</summary>
    public async Task AssertNothingLostAsync(List<string> before, bool mayAdd)
    {
        var canary = (await Grpc.GetJobAsync(new GetJobRequest { Name = "canary" })).Job;
        Assert.Equal(("@daily", 7u, CanaryData), (canary.Schedule, canary.Repeats, canary.Data));
        var after = await JobNamesAsync();
        if (mayAdd)
        {
            foreach (var name in after.Except(before)) await Grpc.DeleteJobAsync(new DeleteJobRequest { Name = name });
            after = await JobNamesAsync();
        }
        Assert.Equal(before, after);
    }

    public static string Show(string s) => s.Length > 40 ? $"{s[..12]}…({s.Length} chars)"
        : string.Concat(s.Select(c => c < 0x20 || c is >= '\u007f' and <= '\u00a0' || c > 0x2000 ? $"\\u{(int)c:x4}" : c.ToString()));
}
