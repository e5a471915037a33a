using System.Globalization;
using System.Text;

namespace Benchmarks;

/// <summary>Command-line options shared by every scenario: <c>--name value</c> pairs.</summary>
public sealed class BenchOptions
{
    private readonly Dictionary<string, string> _values = new(StringComparer.OrdinalIgnoreCase);

    public BenchOptions(IEnumerable<string> args)
    {
        string? pending = null;
        foreach (var a in args)
        {
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                if (pending is not null) _values[pending] = "true";
                pending = a[2..];
                var eq = pending.IndexOf('=');
                if (eq > 0)
                {
                    _values[pending[..eq]] = pending[(eq + 1)..];
                    pending = null;
                }
            }
            else if (pending is not null)
            {
                _values[pending] = a;
                pending = null;
            }
            else throw new ArgumentException($"unexpected argument '{a}'");
        }
        if (pending is not null) _values[pending] = "true";
    }

    public bool Has(string name) => _values.ContainsKey(name);

    public int Int(string name, int fallback) => _values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) => _values.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public bool Bool(string name, bool fallback) => _values.TryGetValue(name, out var v) ? v is "true" or "1" or "yes" : fallback;

    public IReadOnlyList<string> Strings(string name, params string[] fallback) => _values.TryGetValue(name, out var v)
        ? v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        : fallback;

    public IReadOnlyList<int> Ints(string name, params int[] fallback) => _values.TryGetValue(name, out var v)
        ? [.. v.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))]
        : fallback;
}

/// <summary>Latency samples in milliseconds; percentiles by nearest rank.</summary>
/// <param name="capacity">The samples expected: a list grown while it records copies up to hundreds of MB on the
/// recording thread and faults fresh pages in, which showed as the measured tail at 500,000 samples a second.</param>
public sealed class Samples(int capacity = 0)
{
    private readonly List<double> _values = new(capacity);
    private readonly object _gate = new();

    public void Add(double ms)
    {
        lock (_gate) _values.Add(ms);
    }

    public int Count { get { lock (_gate) return _values.Count; } }

    public LatencySummary Summarize()
    {
        double[] sorted;
        lock (_gate) sorted = [.. _values];
        Array.Sort(sorted);
        if (sorted.Length == 0) return new LatencySummary(0, double.NaN, double.NaN, double.NaN, double.NaN);
        double At(double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new LatencySummary(sorted.Length, At(0.50), At(0.99), sorted[^1], sorted.Average());
    }
}

/// <summary>
/// CPU used by each measured process over a window. CPU per operation does not depend on how loaded the machine is,
/// so it says what the processes under test would reach on two idle cores (the "ceiling").
/// </summary>
public sealed class CpuWindow
{
    private readonly (string Name, int Pid)[] _processes;
    private double[] _start = [];
    private double[] _used = [];

    public CpuWindow(params (string Name, int Pid)[] processes) => _processes = processes;

    public void Start() => _start = [.. _processes.Select(p => Machine.CpuSeconds(p.Pid))];

    public void Stop() => _used = [.. _processes.Select((p, i) => Machine.CpuSeconds(p.Pid) - _start[i])];

    /// <summary>"scheduler 120 + sidecar 210 µs/op" for the given operation count.</summary>
    public string PerOp(double ops) => ops <= 0 ? "-" :
        string.Join(" + ", _processes.Select((p, i) => $"{p.Name} {_used[i] / ops * 1e6:0}")) + " us/op";

    /// <summary>Operations per second two idle cores could sustain, counting every process of the window.</summary>
    public double Ceiling(double ops) => ops <= 0 ? double.NaN : Environment.ProcessorCount / (_used.Sum() / ops);

    /// <summary>
    /// "14,522 (46 %) | 10,050 (66 %)": the ceiling counting the processes under test only (the first
    /// <paramref name="servers"/>), then counting the load generator too, which here shares the same cores; each with
    /// the measured rate's share of it. At full load the first share cannot pass servers / (servers + generator) CPU.
    /// </summary>
    public string Ceilings(double rate, double ops, int servers)
    {
        if (ops <= 0) return "-";
        var server = Environment.ProcessorCount / (_used.Take(servers).Sum() / ops);
        var all = Ceiling(ops);
        return string.Create(CultureInfo.InvariantCulture, $"{server:N0} ({rate / server * 100:0} %) | {all:N0} ({rate / all * 100:0} %)");
    }
}

public readonly record struct LatencySummary(int Count, double P50, double P99, double Max, double Mean);

/// <summary>A result table printed with aligned columns; rows are added as each measurement ends.</summary>
public sealed class Table(string title, params string[] columns)
{
    private readonly List<string[]> _rows = [];

    public void Add(params object?[] cells) => _rows.Add([.. cells.Select(Format)]);

    private static string Format(object? cell) => cell switch
    {
        null => "-",
        double d when double.IsNaN(d) => "-",
        double d when Math.Abs(d) >= 1000 => d.ToString("N0", CultureInfo.InvariantCulture),
        double d => d.ToString("0.##", CultureInfo.InvariantCulture),
        int i => i.ToString("N0", CultureInfo.InvariantCulture),
        long l => l.ToString("N0", CultureInfo.InvariantCulture),
        _ => cell.ToString() ?? "",
    };

    public void Print()
    {
        var widths = columns.Select((c, i) => Math.Max(c.Length, _rows.Count == 0 ? 0 : _rows.Max(r => i < r.Length ? r[i].Length : 0))).ToArray();
        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine("== " + title + " ==");
        sb.AppendLine(string.Join(" | ", columns.Select((c, i) => c.PadRight(widths[i]))));
        sb.AppendLine(string.Join("-+-", widths.Select(w => new string('-', w))));
        foreach (var r in _rows)
            sb.AppendLine(string.Join(" | ", r.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))));
        Console.Write(sb.ToString());
        Summary.Append(sb.ToString());
    }

    /// <summary>Every table printed in this run, reprinted together at the end of <c>all</c>.</summary>
    public static readonly StringBuilder Summary = new();
}

public static class Verdict
{
    public static string AtLeast(double measured, double target) => double.IsNaN(measured) ? "MISS" : measured >= target ? "PASS" : "MISS";
    public static string AtMost(double measured, double target) => double.IsNaN(measured) ? "MISS" : measured <= target ? "PASS" : "MISS";

    /// <summary>"x.xx×" ours over peer for a higher-is-better figure.</summary>
    public static string Ratio(double ours, double peer) =>
        double.IsNaN(ours) || double.IsNaN(peer) || peer == 0 ? "-" : (ours / peer).ToString("0.00", CultureInfo.InvariantCulture) + "x";
}

public static class Machine
{
    public static string LoadAverage()
    {
        try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "?"; }
    }

    /// <summary>VmRSS and VmHWM (peak) of a process in MiB, from /proc/&lt;pid&gt;/status.</summary>
    public static (double Rss, double Peak) Memory(int pid)
    {
        double rss = double.NaN, peak = double.NaN;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kb(line) / 1024.0;
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peak = Kb(line) / 1024.0;
            }
        }
        catch (IOException) { }
        return (rss, peak);

        static double Kb(string line) => double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    /// <summary>User + system CPU seconds a process has used so far (/proc/&lt;pid&gt;/stat, clock ticks of 1/100 s).</summary>
    public static double CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (double.Parse(rest[11], CultureInfo.InvariantCulture) + double.Parse(rest[12], CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (IOException) { return double.NaN; }
    }

    /// <summary>Environment for the processes under test; <c>--perf-map</c> adds DOTNET_PerfMapEnabled=1 so <c>perf</c> can name JIT frames.</summary>
    public static Dictionary<string, string?> ChildEnvironment { get; } = [];

    public static void Note(string text) => Console.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] (load {LoadAverage()}) {text}");
}
