using System.Diagnostics;
using Benchmarks;

// One harness for the scheduler (issue 3) and sidecar (issue 4) figures; see bench/README.md.
const string Usage = """
    usage: dotnet run -c Release --project bench/Benchmarks -- <scenario> [options]
    scenarios:
      engine         N jobs @every 1s (durable) vs Quartz RAMJobStore and ADO/SQLite: triggers/s, lateness p50/p99/max
                     --jobs 1000,10000,50000  --seconds 20  --warmup 5  --ado-max 10000  --ram-max (no limit)
      schedule       ScheduleJob/s over gRPC to the real scheduler process vs Quartz ScheduleJob/s in-process
                     --seconds 10  --warmup 20  --callers 32  --etcd true (adds the scheduler on a 3-member etcd when etcd is installed)
      restart        1M stored jobs: scheduler RSS after load and process start -> first trigger, first start and after kill -9
                     --jobs 1000000
      triggers       Dapr TestJobTriggerPerformance through scheduler + sidecar + HTTP app: 20,000 one-shot jobs (dueTime 1s)
                     --jobs 20000  --callers 64
      http-schedule  Dapr TestJobSchedulingPerformance: POST /v1.0/jobs/{uuid} over 16 connections
                     --seconds 20  --warmup 20  --connections 16  --mtls true
      steady         lateness at a steady 1k triggers/s to the HTTP app: 1000 jobs @every 1s
                     --jobs 1000  --seconds 20  --warmup 5
      replicas       the scheduler on SQLite, 1 and 3 replicas on a 3-member etcd: ScheduleJob/s, burst triggers/s,
                     lateness of @every 1s jobs, failover after kill -9 (3 replicas)
                     --seconds 10  --warmup 3  --callers 32  --trigger-jobs 10000  --lateness-jobs 10000
                     --lateness-seconds 20  --failover-runs 3  --etcd-ttl 5
                     --setups sqlite,etcd1-open,etcd1,etcd3-open,etcd3  --parts schedule,burst,lateness
                     --answers-inline (the stream consumer before issue 26: awaits each answer before reading on)
      reconnect      scheduler kill -9 and restart under a connected sidecar: port accepting -> job stream back, -> first delivery
                     --runs 5  --down 3
      join           3 replicas on etcd, one down while the sidecar starts, then started: its port accepting -> the
                     sidecar's job stream to it; further runs kill -9 and restart it
                     --runs 5  --down 3
      apphost        the whole app under the real AppHost: N backup schedules @every 1s through BackupApi, each trigger a
                     real backup by BackupWorker: lateness at the worker's handler, backups started/finished per second
                     --schedules 1000  --databases 8  --seconds 10  --warmup 10  --lead <s> (first tick after start, default N/15)
      all            every scenario above with its defaults (options apply to each)
    """;

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}

var scenario = args[0];
var options = new BenchOptions(args.Skip(1));
if (options.Bool("perf-map", false))
{
    // perf can then name JIT frames (W^X double mapping hides them).
    Machine.ChildEnvironment["DOTNET_PerfMapEnabled"] = "1";
    Machine.ChildEnvironment["DOTNET_EnableWriteXorExecute"] = "0";
}
var scenarios = new Dictionary<string, Func<BenchOptions, Task>>(StringComparer.OrdinalIgnoreCase)
{
    ["engine"] = EngineScenario.RunAsync,
    ["schedule"] = SchedulerScenarios.RunScheduleAsync,
    ["restart"] = RestartScenario.RunAsync,
    ["triggers"] = TriggersScenario.RunTriggersAsync,
    ["http-schedule"] = HttpScheduleScenario.RunHttpScheduleAsync,
    ["steady"] = SteadyScenario.RunSteadyAsync,
    ["replicas"] = ReplicaScenarios.RunAsync,
    ["reconnect"] = ReconnectScenario.RunAsync,
    ["join"] = ReplicaJoinScenario.RunAsync,
    ["apphost"] = AppHostScenario.RunAsync,
};
var started = Stopwatch.StartNew();
Machine.Note($"benchmarks on {Environment.ProcessorCount} cores, .NET {Environment.Version}");
try
{
    if (scenario == "all")
    {
        foreach (var (name, run) in scenarios)
        {
            try { await run(options); }
            catch (Exception e) { Console.Error.WriteLine($"scenario {name} failed: {e}"); }
            finally { Leftovers.EndAll(name); }
        }
        Console.WriteLine();
        Console.WriteLine("======== summary ========");
        Console.Write(Table.Summary.ToString());
    }
    else if (scenarios.TryGetValue(scenario, out var run))
    {
        try { await run(options); }
        catch (Exception e)
        {
            Console.Error.WriteLine($"scenario {scenario} failed: {e}");
            return 1;
        }
        finally { Leftovers.EndAll(scenario); }
    }
    else
    {
        Console.Error.WriteLine($"unknown scenario '{scenario}'");
        Console.WriteLine(Usage);
        return 2;
    }
}
finally
{
    Machine.Note($"done in {started.Elapsed.TotalSeconds:0} s");
}
return 0;
