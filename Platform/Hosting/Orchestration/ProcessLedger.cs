using System.Globalization;

namespace Platform.Hosting.Orchestration;

/// <summary>
/// Guards a data directory for one AppHost at a time and records the processes it runs (pid + kernel start time), so
/// that processes left behind by an AppHost that was itself killed (SIGKILL, power loss) are ended by the next start.
/// Children cannot be tied to the AppHost's life from .NET (no PR_SET_PDEATHSIG), so this is the backstop.
/// </summary>
internal sealed class ProcessLedger : IDisposable
{
    private readonly string _file;
    private readonly FileStream _lock;
    private readonly Dictionary<int, (ulong StartTime, string Name)> _live = [];

    private ProcessLedger(string directory, FileStream lockStream)
    {
        _file = Path.Combine(directory, "processes");
        _lock = lockStream;
    }

    /// <summary>Takes the data directory; fails clearly when another AppHost runs on it.</summary>
    public static ProcessLedger Acquire(string dataDirectory)
    {
        var directory = Path.Combine(dataDirectory, ".apphost");
        Directory.CreateDirectory(directory);
        FileStream lockStream;
        try
        {
            lockStream = new FileStream(Path.Combine(directory, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new InvalidOperationException(
                $"The data directory '{dataDirectory}' is in use by another AppHost. Stop it, or start this one with --data-dir <other directory>.", ex);
        }
        return new ProcessLedger(directory, lockStream);
    }

    /// <summary>Kills what a previous run recorded and is still alive (same pid and start time). Returns the names.</summary>
    public IReadOnlyList<string> KillLeftovers()
    {
        var killed = new List<string>();
        if (!File.Exists(_file)) return killed;
        foreach (var line in File.ReadAllLines(_file))
        {
            var parts = line.Split(' ', 3);
            if (parts.Length < 3
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                || !ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var startTime)) continue;
            var id = new ProcessTree.ProcessId(pid, startTime);
            if (!ProcessTree.IsAlive(id)) continue;
            foreach (var d in ProcessTree.Descendants(pid)) ProcessTree.Signal(d.Pid, ProcessTree.SigKill);
            if (ProcessTree.ProcessGroupOf(pid) == pid) ProcessTree.SignalGroup(pid, ProcessTree.SigKill);
            ProcessTree.Signal(pid, ProcessTree.SigKill);
            killed.Add($"{parts[2]} (pid {pid})");
        }
        File.Delete(_file);
        return killed;
    }

    public void Started(int pid, string name)
    {
        if (ProcessTree.Identify(pid) is not { } id) return;
        lock (_live)
        {
            _live[pid] = (id.StartTime, name);
            Save();
        }
    }

    public void Ended(int pid)
    {
        lock (_live)
        {
            if (_live.Remove(pid)) Save();
        }
    }

    private void Save()
    {
        var temp = _file + ".tmp";
        File.WriteAllLines(temp, _live.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value.StartTime} {kv.Value.Name}")));
        File.Move(temp, _file, overwrite: true);
    }

    public void Dispose()
    {
        lock (_live)
        {
            if (_live.Count == 0 && File.Exists(_file)) File.Delete(_file);
        }
        _lock.Dispose();
    }
}
