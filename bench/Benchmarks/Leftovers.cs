using System.Diagnostics;
using System.Globalization;

namespace Benchmarks;

/// <summary>
/// The last line of defence for "no process left behind": after each scenario, every process still running under the
/// harness (a scheduler, sidecar or etcd member whose owner did not get to end it, e.g. because a step threw) is
/// named and ended by its pid, with its whole tree.
/// </summary>
public static class Leftovers
{
    /// <summary>Ends every descendant of this process; returns how many there were.</summary>
    public static int EndAll(string scenario)
    {
        var left = Descendants(Environment.ProcessId);
        foreach (var pid in left)
        {
            Machine.Note($"scenario {scenario} left pid {pid} ({CommandLine(pid)}) running: ending it");
            try
            {
                using var p = Process.GetProcessById(pid);
                p.Kill(entireProcessTree: true);
                p.WaitForExit(TimeSpan.FromSeconds(10));
            }
            catch (ArgumentException) { } // already gone
            catch (InvalidOperationException) { }
        }
        return left.Count;
    }

    /// <summary>Children of <paramref name="pid"/> (each thread's children list), depth first; none when /proc is absent.</summary>
    internal static List<int> Descendants(int pid)
    {
        var found = new List<int>();
        string[] tasks;
        try { tasks = Directory.GetDirectories($"/proc/{pid}/task"); }
        catch (IOException) { return found; }
        catch (UnauthorizedAccessException) { return found; }
        foreach (var task in tasks)
        {
            string text;
            try { text = File.ReadAllText(Path.Combine(task, "children")); }
            catch (IOException) { continue; }
            foreach (var child in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var id = int.Parse(child, CultureInfo.InvariantCulture);
                if (found.Contains(id)) continue;
                found.Add(id);
                found.AddRange(Descendants(id).Where(d => !found.Contains(d)));
            }
        }
        return found;
    }

    private static string CommandLine(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim() is { Length: > 0 } c ? (c.Length > 160 ? c[..160] + "..." : c) : "?"; }
        catch (IOException) { return "?"; }
    }
}
