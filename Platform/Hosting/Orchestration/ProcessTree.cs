using System.Globalization;
using System.Runtime.InteropServices;

namespace Platform.Hosting.Orchestration;

/// <summary>
/// Signals and process-tree discovery on Linux. Children are started as leaders of their own session and process group
/// (through <c>setsid</c>), so one signal to the group reaches every process they spawned, and a Ctrl+C in the terminal
/// reaches only the AppHost, which then stops its children in order.
/// </summary>
internal static partial class ProcessTree
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    public static string? SetsidPath { get; } = OperatingSystem.IsLinux() && File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid"
        : OperatingSystem.IsLinux() && File.Exists("/bin/setsid") ? "/bin/setsid" : null;

    public static bool Signal(int pid, int signal)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return false;
        return Kill(pid, signal) == 0;
    }

    /// <summary>Signals every process of the group led by <paramref name="pgid"/>.</summary>
    public static bool SignalGroup(int pgid, int signal) => Signal(-pgid, signal);

    /// <summary>A process identity that survives pid reuse: pid plus kernel start time.</summary>
    public readonly record struct ProcessId(int Pid, ulong StartTime);

    /// <summary>All live descendants of <paramref name="pid"/> (children, grandchildren, ...), read from /proc.</summary>
    public static IReadOnlyList<ProcessId> Descendants(int pid)
    {
        var byParent = new Dictionary<int, List<ProcessId>>();
        foreach (var stat in AllStats())
        {
            if (!byParent.TryGetValue(stat.ParentPid, out var list)) byParent[stat.ParentPid] = list = [];
            list.Add(new ProcessId(stat.Pid, stat.StartTime));
        }
        var result = new List<ProcessId>();
        var queue = new Queue<int>([pid]);
        while (queue.Count > 0)
        {
            if (!byParent.TryGetValue(queue.Dequeue(), out var children)) continue;
            foreach (var c in children)
            {
                result.Add(c);
                queue.Enqueue(c.Pid);
            }
        }
        return result;
    }

    /// <summary>True while the process exists and is not a zombie.</summary>
    public static bool IsAlive(ProcessId id) => ReadStat(id.Pid) is { } s && s.StartTime == id.StartTime && s.State != 'Z' && s.State != 'X';

    public static bool IsAlive(int pid) => ReadStat(pid) is { } s && s.State != 'Z' && s.State != 'X';

    public static ProcessId? Identify(int pid) => ReadStat(pid) is { } s ? new ProcessId(s.Pid, s.StartTime) : null;

    public static int? ProcessGroupOf(int pid) => ReadStat(pid)?.ProcessGroup;

    private readonly record struct Stat(int Pid, char State, int ParentPid, int ProcessGroup, ulong StartTime);

    private static IEnumerable<Stat> AllStats()
    {
        if (!Directory.Exists("/proc")) yield break;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            if (ReadStat(pid) is { } s) yield return s;
        }
    }

    private static Stat? ReadStat(int pid)
    {
        string text;
        try { text = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        // The command name is in parentheses and may itself contain spaces or ')': fields resume after the last ')'.
        var close = text.LastIndexOf(')');
        if (close < 0) return null;
        var fields = text[(close + 2)..].Split(' ');
        if (fields.Length < 20) return null;
        return new Stat(pid, fields[0][0],
            int.Parse(fields[1], CultureInfo.InvariantCulture),
            int.Parse(fields[2], CultureInfo.InvariantCulture),
            ulong.Parse(fields[19], CultureInfo.InvariantCulture));
    }
}
