using System.Globalization;

namespace TestSupport;

/// <summary>Looks at live processes through /proc, for tests that prove nothing was left running.</summary>
public static class ProcessProbe
{
    /// <summary>True while the process exists and is not a zombie (a dead child its parent has not reaped yet).</summary>
    public static bool IsAlive(int pid)
    {
        var state = StatFields(pid)?[0];
        return state is not (null or "Z" or "X");
    }

    /// <summary>Live processes (other than this one) whose command line or environment contains <paramref name="text"/>, e.g. a test's temporary directory.</summary>
    public static IReadOnlyList<int> Mentioning(string text)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                || pid == Environment.ProcessId || !IsAlive(pid)) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(text, StringComparison.Ordinal)
                    || File.ReadAllText(Path.Combine(dir, "environ")).Contains(text, StringComparison.Ordinal))
                    found.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }

    /// <summary>The live direct children of <paramref name="pid"/> (e.g. the app a <c>dotnet run</c> wrapper started).</summary>
    public static IReadOnlyList<int> ChildrenOf(int pid)
    {
        var parent = pid.ToString(CultureInfo.InvariantCulture);
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var child)
                && StatFields(child) is [var state, var ppid, ..] && state is not ("Z" or "X") && ppid == parent)
                found.Add(child);
        return found;
    }

    /// <summary><paramref name="pid"/> and every live process under it, parents before their children.</summary>
    public static IReadOnlyList<int> TreeOf(int pid)
    {
        var tree = new List<int> { pid };
        for (var i = 0; i < tree.Count; i++) tree.AddRange(ChildrenOf(tree[i]));
        return tree;
    }

    /// <summary>
    /// How many inotify instances the process holds (file descriptors on <c>anon_inode:inotify</c>): each is a
    /// <see cref="FileSystemWatcher"/> or a file provider watching for changes.
    /// </summary>
    public static int InotifyInstances(int pid) =>
        new DirectoryInfo($"/proc/{pid}/fd").EnumerateFileSystemInfos().Count(fd => fd.LinkTarget == "anon_inode:inotify");

    /// <summary>When the process started, in clock ticks since boot (/proc stat field 22); null once gone.</summary>
    public static string? StartTicks(int pid) => StatFields(pid) is { Length: > 19 } fields ? fields[19] : null;

    /// <summary>/proc/&lt;pid&gt;/stat after the command name (which may hold spaces): state, parent pid, …; null once gone.</summary>
    private static string[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
