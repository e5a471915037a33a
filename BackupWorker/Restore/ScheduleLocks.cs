using BackupWorker.Backups;
using BackupWorker.Hosting;

namespace BackupWorker.Restore;

/// <summary>The run locks (<see cref="ScheduleRunLock"/>) of several schedules, all or none.</summary>
internal sealed class ScheduleLocks : IDisposable
{
    private readonly List<ScheduleRunLock> _held;

    private ScheduleLocks(List<ScheduleRunLock> held) => _held = held;

    /// <summary>All the locks, taken in name order; null (and <paramref name="busy"/> the schedule running) when one is held.</summary>
    public static ScheduleLocks? TryAcquire(BackupPaths paths, IEnumerable<string> schedules, out string? busy)
    {
        var held = new List<ScheduleRunLock>();
        foreach (var schedule in schedules)
        {
            if (ScheduleRunLock.TryAcquire(paths, schedule) is { } taken)
            {
                held.Add(taken);
                continue;
            }
            foreach (var h in held) h.Dispose();
            busy = schedule;
            return null;
        }
        busy = null;
        return new ScheduleLocks(held);
    }

    /// <summary>No locks (nothing to hold).</summary>
    public static ScheduleLocks None(out string? busy)
    {
        busy = null;
        return new ScheduleLocks([]);
    }

    public void Dispose()
    {
        foreach (var h in _held) h.Dispose();
    }
}
