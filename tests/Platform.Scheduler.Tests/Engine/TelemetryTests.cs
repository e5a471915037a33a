using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Platform.Scheduler.Engine;
using static Platform.Scheduler.Tests.Engine.EngineHarness;

namespace Platform.Scheduler.Tests.Engine;

public class TelemetryTests
{
    [Fact]
    public async Task Trigger_span_is_linked_to_the_trace_that_scheduled_the_job()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == SchedulerEngine.TelemetryName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => stopped.Enqueue(a),
        };
        ActivitySource.AddActivityListener(listener);

        await using var h = await StartAsync();
        using var stream = h.Engine.OpenStream("default", "app1");
        var schedulingTrace = ActivityTraceId.CreateRandom();
        var schedulingSpan = ActivitySpanId.CreateRandom();
        await h.Engine.ScheduleJobAsync(Key("traced"), new JobDefinition
        {
            DueTime = "0s",
            TraceParent = $"00-{schedulingTrace}-{schedulingSpan}-01",
        }, overwrite: false);

        var trigger = await stream.NextAsync();
        Assert.NotNull(trigger.TraceParent);
        Assert.True(ActivityContext.TryParse(trigger.TraceParent, null, out var triggerContext));
        Assert.NotEqual(schedulingTrace, triggerContext.TraceId);     // its own trace, linked rather than parented
        stream.Ack(trigger.Id, true);

        var span = stopped.Single(a => (string?)a.GetTagItem("scheduler.job.name") == "traced");
        Assert.Equal(triggerContext.SpanId, span.SpanId);
        var link = Assert.Single(span.Links);
        Assert.Equal(schedulingTrace, link.Context.TraceId);
        Assert.Equal(schedulingSpan, link.Context.SpanId);
        Assert.Equal("success", span.GetTagItem("scheduler.trigger.outcome"));
    }

    [Fact]
    public async Task Meter_reports_jobs_triggers_results_lateness_and_streams()
    {
        await using var h = await StartAsync();
        var longs = new ConcurrentDictionary<string, long>();
        var doubles = new ConcurrentBag<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter == h.Engine.Meter) l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((i, value, tags, _) =>
        {
            var key = i.Name;
            foreach (var t in tags) key += $"|{t.Key}={t.Value}";
            longs.AddOrUpdate(key, value, (_, v) => i is ObservableInstrument<long> ? value : v + value);
        });
        listener.SetMeasurementEventCallback<int>((i, value, _, _) => longs[i.Name] = value);
        listener.SetMeasurementEventCallback<double>((i, _, _, _) => doubles.Add(i.Name));
        listener.Start();

        using var stream = h.Engine.OpenStream("default", "app1");
        await h.ScheduleAsync("m1", due: "0s", policy: new Platform.SchedulerProtocol.Common.JobFailurePolicy { Drop = new() });
        await h.ScheduleAsync("m2", schedule: "@daily");
        var t = await stream.NextAsync();
        stream.Ack(t.Id, false);
        listener.RecordObservableInstruments();

        Assert.Equal(1, longs["scheduler.triggers.sent"]);
        Assert.Equal(1, longs["scheduler.trigger.results|outcome=failed"]);
        Assert.Equal(1, longs["scheduler.jobs.stored"]);          // m1 dropped and done, m2 waiting
        Assert.Equal(1, longs["scheduler.sidecars.connected"]);
        Assert.Contains("scheduler.trigger.lateness", doubles);
    }
}
