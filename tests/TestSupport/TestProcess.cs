using System.Collections.Concurrent;
using System.Diagnostics;

namespace TestSupport;

/// <summary>
/// A child process owned by a test: output captured line by line, waits for output without sleeping,
/// and on dispose the whole process tree is ended by id so nothing is left listening. A watchdog ends the tree too
/// when the test host dies without disposing it (killed, or a crash), so no run leaves servers behind.
/// </summary>
public sealed class TestProcess : IAsyncDisposable
{
    // Linux's PR_SET_PDEATHSIG would fire when the forking *thread* ends (thread-pool threads retire), so the
    // tie to the host is a small shell loop instead: it polls both pids once a second and, if the host is gone
    // first, kills the child and everything under it. It reads /proc so a zombie host counts as gone. Each process is
    // stopped before its children are listed and killed, so it can neither start another nor exit on its own when a
    // child dies; it is then killed, as a crash would end it.
    private const string WatchdogScript = """
        exec </dev/null >/dev/null 2>&1
        alive() { read -r s < "/proc/$1/stat" || return 1; s=${s##*") "}; case "$s" in Z*|X*) return 1;; esac; }
        tree() { kill -STOP "$1"; for c in $(cat /proc/$1/task/*/children); do tree "$c"; done; kill -KILL "$1"; }
        while alive "$1" && alive "$2"; do sleep 1; done
        alive "$1" || tree "$2"
        """;

    private readonly Process _process;
    private Process? _watchdog;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];
    private readonly object _gate = new();

    private TestProcess(Process process) => _process = process;

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    /// <summary>Standard output and standard error, line by line as they arrived.</summary>
    public IEnumerable<string> Output => _lines;
    /// <summary>Standard output alone (e.g. a tool's result, apart from its warnings).</summary>
    public IEnumerable<string> StandardOutput => _stdout;
    public string Name { get; private init; } = "";

    /// <summary>Starts <c>dotnet &lt;dll&gt; args</c> with the given extra environment.</summary>
    public static TestProcess StartDotnet(string name, string dllPath, IEnumerable<string> args,
        IDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(dllPath)!,
        };
        psi.ArgumentList.Add(dllPath);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Start(name, psi, environment);
    }

    /// <param name="diesWith">The process whose end also ends this one; the test host unless a test says otherwise.</param>
    public static TestProcess Start(string name, ProcessStartInfo psi, IDictionary<string, string?>? environment = null,
        int? diesWith = null)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        psi.Environment["DOTNET_NOLOGO"] = "1";
        if (environment is not null)
            foreach (var (k, v) in environment) psi.Environment[k] = v;
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var tp = new TestProcess(process) { Name = name };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null) tp._stdout.Enqueue(e.Data);
            tp.OnLine(e.Data);
        };
        process.ErrorDataReceived += (_, e) => tp.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        tp._watchdog = StartWatchdog(diesWith ?? Environment.ProcessId, process.Id);
        return tp;
    }

    private static Process StartWatchdog(int host, int child)
    {
        var psi = new ProcessStartInfo("sh") { UseShellExecute = false };
        foreach (var a in (string[])["-c", WatchdogScript, "test-process-watchdog", host.ToString(), child.ToString()])
            psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        _lines.Enqueue(line);
        lock (_gate)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(line))
                {
                    _waiters[i].Done.TrySetResult(line);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>Completes with the first output line (past or future) that matches, or throws after the timeout.</summary>
    public async Task<string> WaitForOutputAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var tcs = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            var seen = _lines.FirstOrDefault(match);
            if (seen is not null) return seen;
            _waiters.Add((match, tcs));
        }
        var exited = _process.WaitForExitAsync();
        var winner = await Task.WhenAny(tcs.Task, exited, Task.Delay(timeout));
        if (winner == tcs.Task) return await tcs.Task;
        if (winner == exited)
        {
            // The exit is noticed with the output read to its end, possibly just before the last lines reached OnLine.
            lock (_gate)
            {
                _waiters.RemoveAll(w => w.Done == tcs);
                if (_lines.FirstOrDefault(match) is { } late) return late;
            }
        }
        var tail = OutputTail();
        throw new TimeoutException(winner == exited
            ? $"{Name} exited with code {_process.ExitCode} before the expected output.{Environment.NewLine}{tail}"
            : $"{Name}: expected output not seen within {timeout}.{Environment.NewLine}{tail}");
    }

    /// <summary>
    /// Completes once <paramref name="healthUrl"/> answers 2xx; throws if the process exits first or the timeout passes,
    /// with the tail of its output.
    /// </summary>
    public async Task WaitForHealthyAsync(HttpClient http, string healthUrl, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited)
            {
                // Its last lines (the reason, usually) may still be on their way: read the output to its end first.
                using (var drained = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
                {
                    try { await _process.WaitForExitAsync(drained.Token); } catch (OperationCanceledException) { }
                }
                throw new InvalidOperationException($"{Name} exited during start-up:{Environment.NewLine}{OutputTail()}");
            }
            try
            {
                using var response = await http.GetAsync(healthUrl);
                if (response.IsSuccessStatusCode) return;
            }
            // A process still starting may refuse, reset or drop the connection at any step; HttpClient mostly wraps
            // that, but a socket error at connect can come through as it is (seen in the kill tests).
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or System.Net.Sockets.SocketException) { }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{Name}: {healthUrl} not ready within {timeout}:{Environment.NewLine}{OutputTail()}");
            // Nothing to await: a child process gives no readiness event other than answering its health endpoint.
            await Task.Delay(100);
        }
    }

    private string OutputTail() => string.Join(Environment.NewLine, _lines.TakeLast(40));

    /// <summary>
    /// Waits (bounded) for the process to end by itself and returns its exit code, with its output read to the end;
    /// on timeout it is killed and a <see cref="TimeoutException"/> carries its output.
    /// </summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            // With asynchronous reading, this also waits for both output streams to reach their end.
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
            throw new TimeoutException($"{Name} (pid {Id}) did not exit by itself within {timeout}:{Environment.NewLine}{OutputTail()}");
        }
    }

    /// <summary>Ends the process tree immediately (SIGKILL), as a crash would.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        var runtimeFiles = RuntimeTempFiles.OfTree(_process.Id);
        try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        // SIGKILL cannot be refused; the bound only keeps a stuck wait (e.g. an unreaped child) from hanging the suite.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { throw new TimeoutException($"{Name} (pid {Id}) did not exit within 30 s of SIGKILL"); }
        runtimeFiles.Remove();
    }

    /// <summary>Asks the process to stop (SIGTERM) and waits for it, killing it if it does not end in time.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            using var term = Process.Start("kill", ["-TERM", _process.Id.ToString()]);
            await term.WaitForExitAsync();
            using var cts = new CancellationTokenSource(timeout);
            try { await _process.WaitForExitAsync(cts.Token); }
            catch (OperationCanceledException) { await KillAsync(); }
        }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
        if (_watchdog is { } watchdog)
        {
            // Ended only after the child, so the tie holds until the very end; reaped so no zombie stays.
            try { watchdog.Kill(); } catch (InvalidOperationException) { }
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await watchdog.WaitForExitAsync(cts.Token);
            watchdog.Dispose();
        }
    }
}
