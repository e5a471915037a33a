using System.Diagnostics.Metrics;

namespace Platform.Sidecar.Hosting;

/// <summary>The sidecar's own metrics (Meter "Platform.Sidecar"); its spans are <see cref="SidecarTelemetry"/>'s.</summary>
public sealed class SidecarMetrics : IDisposable
{
    public const string Name = SidecarTelemetry.Name;

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _jobsScheduled;
    private readonly Counter<long> _triggers;
    private readonly Histogram<double> _deliveryLatency;
    private readonly Histogram<double> _triggerLateness;

    public SidecarMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(Name);
        _requests = _meter.CreateCounter<long>("sidecar.api.requests", "{request}", "Runtime API requests by protocol and method");
        _jobsScheduled = _meter.CreateCounter<long>("sidecar.jobs.scheduled", "{job}", "Jobs scheduled through this sidecar");
        _triggers = _meter.CreateCounter<long>("sidecar.jobs.triggers", "{trigger}", "Job triggers delivered to the app, by outcome");
        _deliveryLatency = _meter.CreateHistogram<double>("sidecar.jobs.delivery.duration", "ms", "Time from receiving a trigger to the app's answer");
        _triggerLateness = _meter.CreateHistogram<double>("sidecar.jobs.trigger.lateness", "ms", "Time from a tick's scheduled instant to the app's answer");
    }

    public void Request(string protocol, string method) =>
        _requests.Add(1, new KeyValuePair<string, object?>("protocol", protocol), new KeyValuePair<string, object?>("method", method));

    public void JobScheduled() => _jobsScheduled.Add(1);

    public void TriggerDelivered(bool success, double milliseconds)
    {
        var outcome = new KeyValuePair<string, object?>("outcome", success ? "success" : "failed");
        _triggers.Add(1, outcome);
        _deliveryLatency.Record(milliseconds, outcome);
    }

    public void TriggerLateness(double milliseconds) => _triggerLateness.Record(milliseconds);

    public void Dispose() => _meter.Dispose();
}
