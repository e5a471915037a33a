namespace TestSupport;

/// <summary>
/// The diagnostics socket and debugger pipes a .NET process keeps in the temp directory, named by its pid and start
/// time. The runtime removes them when it exits, but a process ended by SIGKILL cannot, so whoever kills it does:
/// otherwise every suite run would leave a few hundred of them behind.
/// </summary>
public sealed class RuntimeTempFiles
{
    private readonly IReadOnlyList<Owner> _owners;

    private RuntimeTempFiles(IReadOnlyList<Owner> owners) => _owners = owners;

    /// <summary>Names the files of <paramref name="pid"/> and every process under it; call before the kill, while /proc still knows their start times.</summary>
    public static RuntimeTempFiles OfTree(int pid) => Of(ProcessProbe.TreeOf(pid));

    /// <summary>Names the files of each of <paramref name="pids"/> that is alive now; call before they are stopped.</summary>
    public static RuntimeTempFiles Of(IEnumerable<int> pids)
    {
        var temp = Path.GetTempPath();
        var owners = new List<Owner>();
        foreach (var pid in pids)
        {
            // The start time makes the names exact, so a later process that reuses the pid keeps its own files.
            if (ProcessProbe.StartTicks(pid) is not { } start) continue;
            var key = $"{pid}-{start}";
            owners.Add(new Owner(pid, start,
            [
                Path.Combine(temp, $"dotnet-diagnostic-{key}-socket"),
                Path.Combine(temp, $"clr-debug-pipe-{key}-in"),
                Path.Combine(temp, $"clr-debug-pipe-{key}-out"),
            ]));
        }
        return new RuntimeTempFiles(owners);
    }

    /// <summary>The named files that exist now.</summary>
    public IReadOnlyList<string> Remaining => [.. _owners.SelectMany(o => o.Paths).Where(File.Exists)];

    /// <summary>
    /// Removes the files of the processes that have ended; those of any still running stay. A zombie has ended too: a
    /// killed app whose parent died with it waits for init to reap it, which can be late.
    /// </summary>
    public void Remove()
    {
        foreach (var owner in _owners.Where(o => !ProcessProbe.IsAlive(o.Pid) || ProcessProbe.StartTicks(o.Pid) != o.Start))
        foreach (var path in owner.Paths)
        {
            try { File.Delete(path); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    private sealed record Owner(int Pid, string Start, IReadOnlyList<string> Paths);
}
