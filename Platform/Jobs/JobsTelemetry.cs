using System.Diagnostics;

namespace Platform.Jobs;

internal static class JobsTelemetry
{
    public const string Name = "Platform.Jobs";
    public static readonly ActivitySource Source = new(Name);
    private static readonly System.Diagnostics.Metrics.Meter Meter = new(Name);

    /// <summary>Jobs API calls by operation and gRPC status, so sidecar refusals show on a dashboard.</summary>
    public static readonly System.Diagnostics.Metrics.Counter<long> Calls =
        Meter.CreateCounter<long>("platform.jobs.client.calls", "{call}", "Jobs API calls made to the sidecar.");

    public static void Record(string operation, string status) =>
        Calls.Add(1, new KeyValuePair<string, object?>("operation", operation), new KeyValuePair<string, object?>("rpc.grpc.status", status));
}
