using System.Net.Sockets;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using TestSupport;
using DaprGrpc = Dapr.Client.Autogen.Grpc.v1;

namespace Benchmarks;

/// <summary>
/// <c>reconnect</c> (issue 26, item 3): the real scheduler is killed (-9) under a connected sidecar, stays down a while
/// (so gRPC's reconnect back-off has grown, as in a real outage) and is started again on the same port and data. Measured
/// from the moment its port accepts connections: until the sidecar reports its job stream connected again, and until
/// the app gets the job that fell due while the scheduler was down.
/// </summary>
public static class ReconnectScenario
{
    public const double TargetSeconds = 0.5;

    public static async Task RunAsync(BenchOptions o)
    {
        var runs = o.Int("runs", 5);
        var down = TimeSpan.FromSeconds(o.Double("down", 3));
        var table = new Table($"reconnect: scheduler kill -9, down {down.TotalSeconds:0.#} s, restarted on its port; {runs} runs (times from its port accepting connections)",
            "run", "listening -> sidecar stream back s", "listening -> first delivery s", "load avg", "target stream <=0.5 s");
        var app = await JobApp.StartAsync();
        SchedulerProcess? scheduler = null;
        SidecarProcess? sidecar = null;
        try
        {
            Machine.Note("reconnect: starting scheduler + sidecar + app");
            scheduler = await SchedulerProcess.StartAsync(extraArgs: ["--log-level", "warn"], environment: Machine.ChildEnvironment);
            sidecar = await SidecarProcess.StartAsync(new SidecarSettings("bench-reconnect")
            {
                AppPort = app.Port,
                SchedulerHostAddress = scheduler.HostAddress,
                LogLevel = "info",
                Environment = Machine.ChildEnvironment,
            });
            await sidecar.WaitForSchedulerStreamAsync();
            using var channel = GrpcChannel.ForAddress(sidecar.GrpcEndpoint);
            var dapr = new DaprGrpc.Dapr.DaprClient(channel);
            var streamBack = new List<double>();
            for (var run = 1; run <= runs; run++)
            {
                var name = $"reconnect-{run}";
                var delivered = new TaskCompletionSource<DateTimeOffset>(TaskCreationOptions.RunContinuationsAsynchronously);
                app.OnJob = (job, now) => { if (job == name) delivered.TrySetResult(now); };
                // Due while the scheduler is down, so its delivery waits for the stream.
                await dapr.ScheduleJobAsync(new DaprGrpc.ScheduleJobRequest
                {
                    Job = new DaprGrpc.Job { Name = name, DueTime = EngineScenario.Rfc3339(DateTimeOffset.UtcNow + down * 0.8), Data = Any.Pack(new StringValue { Value = "held" }) },
                });
                var connectedLines = sidecar.Process.Output.Count(IsStreamConnected);
                await scheduler.KillAsync();
                // The outage itself: a wait for the clock by design.
                await Task.Delay(down);

                var previous = scheduler.Process;
                var restarting = scheduler.RestartAsync(TimeSpan.FromSeconds(60));
                try
                {
                    var (listening, backAt) = await StreamBackAsync(scheduler, previous, restarting, sidecar, IsStreamConnected, connectedLines);
                    var delivery = await delivered.Task.WaitAsync(TimeSpan.FromSeconds(60));
                    await restarting;
                    var back = (backAt - listening).TotalSeconds;
                    streamBack.Add(back);
                    // A job delivered before the kill (the set-up outran its due time under load) says nothing: "-".
                    double? firstDelivery = delivery > listening ? (delivery - listening).TotalSeconds : null;
                    table.Add($"run {run}", back, firstDelivery, Machine.LoadAverage(), Verdict.AtMost(back, TargetSeconds));
                    Machine.Note($"reconnect/run {run}: stream back {back:0.000} s after the port accepted, first delivery {firstDelivery:0.000} s");
                }
                finally
                {
                    try { await restarting; } catch (Exception e) { Machine.Note($"reconnect: the restart failed: {e.Message}"); }
                }
            }
            if (streamBack.Count > 0)
            {
                var median = streamBack.Order().ElementAt(streamBack.Count / 2);
                table.Add("median", median, null, Machine.LoadAverage(), Verdict.AtMost(median, TargetSeconds));
            }
        }
        finally
        {
            table.Print();
            await Owned.DisposeAllAsync(sidecar, scheduler, app);
        }
    }

    /// <summary>
    /// While <paramref name="restarting"/> starts <paramref name="scheduler"/> again (its process was
    /// <paramref name="previous"/> before): when its port first accepts a
    /// connection, and when the sidecar then logs the (<paramref name="linesBefore"/> + 1)-th line that
    /// <paramref name="isStreamLine"/> matches, i.e. its new job stream to it.
    /// </summary>
    internal static async Task<(DateTimeOffset Listening, DateTimeOffset StreamBack)> StreamBackAsync(SchedulerProcess scheduler, TestProcess previous,
        Task restarting, SidecarProcess sidecar, Func<string, bool> isStreamLine, int linesBefore)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        // Nothing signals the launch or the bind: poll, finely (5 ms) and bounded.
        while (ReferenceEquals(scheduler.Process, previous))
        {
            if (restarting.IsCompleted) await restarting;
            await Task.Delay(5, deadline.Token);
        }
        var seen = 0;
        var backAt = DateTimeOffset.MaxValue;
        // Called once per output line as it arrives.
        var streamLine = sidecar.Process.WaitForOutputAsync(l =>
        {
            if (!isStreamLine(l) || ++seen <= linesBefore) return false;
            backAt = DateTimeOffset.UtcNow;
            return true;
        }, TimeSpan.FromSeconds(60));
        var listening = await ListeningAsync(scheduler, deadline.Token);
        await streamLine;
        return (listening, backAt);
    }

    internal static bool IsStreamConnected(string line) => line.Contains("Connected job stream to scheduler", StringComparison.Ordinal);

    /// <summary>The first instant the scheduler's gRPC port accepts a TCP connection.</summary>
    internal static async Task<DateTimeOffset> ListeningAsync(SchedulerProcess scheduler, CancellationToken ct)
    {
        while (true)
        {
            if (scheduler.Process.HasExited) throw new InvalidOperationException("the scheduler exited while starting");
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync("127.0.0.1", scheduler.Port, ct);
                return DateTimeOffset.UtcNow;
            }
            catch (SocketException)
            {
                await Task.Delay(5, ct);
            }
        }
    }
}
