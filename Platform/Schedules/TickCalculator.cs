namespace Platform.Scheduler.Schedules;

/// <summary>
/// Dapr's trigger-time rule (go-etcd-cron): the next tick from the job's timing and its progress.
/// Ticks are UTC .NET ticks; <see cref="None"/> marks an absent instant.
/// </summary>
public static class TickCalculator
{
    public const long None = long.MinValue;

    /// <param name="repeats">0 = unlimited.</param>
    /// <param name="due">None when no due time.</param>
    /// <param name="expiration">long.MaxValue when no ttl.</param>
    /// <param name="lastTrigger">Scheduled time of the last completed tick, None before the first.</param>
    /// <returns>The scheduled time of the next tick, or None when the job is done.</returns>
    public static long Next(ISchedule? schedule, uint repeats, long created, long due, long expiration, uint count, long lastTrigger)
    {
        if (schedule is null)
            return count >= 1 ? None : due;
        if (repeats > 0 && count >= repeats) return None;

        long next;
        if (lastTrigger == None)
        {
            // The first tick is exactly the due time; without one, the creation instant itself never fires.
            if (due != None) next = due;
            else if (schedule.Next(new DateTimeOffset(created, TimeSpan.Zero)) is { } n) next = n.UtcTicks;
            else return None;
        }
        else if (schedule.Next(new DateTimeOffset(lastTrigger, TimeSpan.Zero)) is { } n) next = n.UtcTicks;
        else return None;

        // A tick exactly at the expiration still fires.
        return next > expiration ? None : next;
    }
}
