using BackupWorker.Hosting;

namespace BackupWorker.Backups;

/// <summary>
/// Answers a job trigger (<c>POST /job/{name}</c>): runs the backup the payload names (for a schedule in the catalog,
/// the catalog's database and location). A failed run answers 500, so the job's failure policy retries it; the run is
/// in the catalog either way. A trigger arriving while a run of the same schedule is in progress waits for its turn:
/// refusing it would count as a failed delivery, so the scheduler would retry it and, past the policy's retries,
/// drop it, a lost backup. (Run-now from an operator is refused with 409 instead.) A trigger that a run started after
/// its scheduled time already covers (a burst of overdue ticks, a redelivery) is answered success without a backup.
/// Our sidecar sends that scheduled time (<see cref="ScheduledTickHeader"/>); with it each tick is backed up once, however
/// often and late it is delivered. Real daprd does not: then the arrival time stands in for it.
/// </summary>
public sealed class BackupJobHandler(BackupRunner runner, TimeProvider time, ILogger<BackupJobHandler> logger, BackupTelemetry telemetry, TriggerTickCatalog? ticks = null)
{
    public Task<IResult> HandleAsync(string jobName, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        HandleAsync(jobName, payload, scheduledTime: null, cancellationToken);

    /// <param name="scheduledTime">The <c>dapr-job-scheduled-time</c> header's value, if the trigger had one.</param>
    public async Task<IResult> HandleAsync(string jobName, ReadOnlyMemory<byte> payload, string? scheduledTime, CancellationToken cancellationToken)
    {
        var receivedAt = time.GetUtcNow();
        DateTimeOffset? scheduledFor = null;
        if (scheduledTime is not null)
        {
            if (ScheduledTickHeader.TryParse(scheduledTime, out var at)) scheduledFor = at;
            else logger.TickHeaderIgnored(jobName, scheduledTime);
        }
        if (scheduledFor is { } due)
        {
            // How late the trigger path (scheduler, sidecar, network) delivered it, before any wait of the worker's own.
            var delay = receivedAt - due;
            telemetry.TriggerDelay.Record(Math.Max(0, delay.TotalSeconds));
            logger.TriggerReceivedForTick(jobName, payload.Length, due, delay.TotalMilliseconds);
        }
        else logger.TriggerReceived(jobName, payload.Length);
        if (!BackupPayload.TryParse(payload.Span, out var parsed, out var error))
        {
            var failed = runner.RecordFailure(jobName, "", "job", error);
            return TypedResults.Problem(error, statusCode: 500, title: "Backup failed", extensions: new Dictionary<string, object?> { ["runId"] = failed.Id });
        }
        TriggerTick? tick = scheduledFor is { } tickAt && ticks is not null ? new TriggerTick(tickAt, ticks) : null;
        var (run, coalesced) = await runner.RunTriggerAsync(jobName, parsed!.Metadata, receivedAt, tick, cancellationToken);
        if (coalesced) return TypedResults.Ok(new CoalescedTrigger(jobName, run.Id, run.StartedAt));
        return run.Outcome == RunOutcome.Succeeded
            ? TypedResults.Ok(run)
            : TypedResults.Problem(run.Error, statusCode: 500, title: "Backup failed", extensions: new Dictionary<string, object?> { ["runId"] = run.Id });
    }
}
