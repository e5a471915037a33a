namespace TestSupport;

/// <summary>
/// The diagnostics socket and debugger pipes a .NET process keeps in the temp directory, named by its pid and start
/// time. The runtime removes them when it exits, but a process ended by SIGKILL cannot, so whoever kills it does:
/// otherwise every suite run would leave a few hundred of them behind.
/// </summary>
public sealed class RuntimeTempFiles
{
    private readonly IReadOnlyList<string> _paths;

    private RuntimeTempFiles(IReadOnlyList<string> paths) => _paths = paths;

    /// <summary>Names the files of <paramref name="pid"/> and every process under it; call before the kill, while /proc still knows their start times.</summary>
    public static RuntimeTempFiles OfTree(int pid) => Of(ProcessProbe.TreeOf(pid));

    /// <summary>Names the files of each of <paramref name="pids"/> that is alive now; call before they are stopped.</summary>
    public static RuntimeTempFiles Of(IEnumerable<int> pids)
    {
        var temp = Path.GetTempPath();
        var paths = new List<string>();
        foreach (var member in pids)
        {
            // The start time makes the names exact, so a later process that reuses the pid keeps its own files.
            if (ProcessProbe.StartTicks(member) is not { } start) continue;
            var key = $"{member}-{start}";
            paths.Add(Path.Combine(temp, $"dotnet-diagnostic-{key}-socket"));
            paths.Add(Path.Combine(temp, $"clr-debug-pipe-{key}-in"));
            paths.Add(Path.Combine(temp, $"clr-debug-pipe-{key}-out"));
        }
        return new RuntimeTempFiles(paths);
    }

    /// <summary>The named files that exist now.</summary>
    public IReadOnlyList<string> Remaining => [.. _paths.Where(File.Exists)];

    /// <summary>Removes the named files; call once the processes have ended.</summary>
    public void Remove()
    {
        foreach (var path in _paths)
        {
            try { File.Delete(path); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
