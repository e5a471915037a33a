using System.Diagnostics;

namespace Platform.Hosting.Orchestration;

/// <summary>
/// Drives one resource: waits for its dependencies, starts its process, probes its health, restarts it with backoff
/// when it crashes, and stops its whole process tree on request. Obeys start/stop/restart commands.
/// </summary>
internal sealed class ResourceRunner(ProcessResource resource, Orchestrator orchestrator)
{
    private readonly object _gate = new();
    private CancellationTokenSource? _runCts;          // set while a run is active (waiting, running or backing off)
    private TaskCompletionSource<bool>? _startSignal;  // set while parked after a stop / failure
    private bool _restartRequested;
    private int _restarts;

    public ProcessResource Resource { get; } = resource;

    /// <summary>The live process, if any (pid of the process group leader).</summary>
    public int? CurrentPid { get; private set; }

    public async Task RunAsync(CancellationToken appStopping)
    {
        var start = true;
        while (!appStopping.IsCancellationRequested)
        {
            if (!start)
            {
                TaskCompletionSource<bool> signal;
                lock (_gate) signal = _startSignal = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                using (appStopping.Register(() => signal.TrySetResult(false)))
                    if (!await signal.Task) return;
            }
            using var runCts = CancellationTokenSource.CreateLinkedTokenSource(appStopping);
            lock (_gate)
            {
                _startSignal = null;
                _runCts = runCts;
                _restartRequested = false;
            }
            try { await RunUntilStoppedAsync(runCts.Token); }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                orchestrator.Log(Resource, true, $"[apphost] unexpected error: {ex.Message}");
                Publish(s => s with { State = KnownResourceStates.FailedToStart, HealthStatus = null });
            }
            lock (_gate)
            {
                _runCts = null;
                start = _restartRequested && !appStopping.IsCancellationRequested;
            }
        }
    }

    /// <summary>Command: start a stopped resource. False when it is not stopped.</summary>
    public bool TryStart()
    {
        lock (_gate) return _startSignal is { } s && s.TrySetResult(true);
    }

    /// <summary>Command: stop a running (or waiting) resource. False when it is already stopped.</summary>
    public bool TryStop()
    {
        lock (_gate)
        {
            if (_runCts is null || _runCts.IsCancellationRequested) return false;
            _runCts.Cancel();
            return true;
        }
    }

    /// <summary>Command: stop then start again; starts a stopped resource.</summary>
    public bool TryRestart()
    {
        lock (_gate)
        {
            if (_startSignal is { } s) return s.TrySetResult(true);
            if (_runCts is null || _runCts.IsCancellationRequested) return false;
            _restartRequested = true;
            _runCts.Cancel();
            return true;
        }
    }

    private async Task RunUntilStoppedAsync(CancellationToken ct)
    {
        var policy = Resource.Annotations.OfType<RestartPolicyAnnotation>().LastOrDefault()?.Policy ?? RestartPolicy.Default;
        var consecutiveCrashes = 0;
        while (true)
        {
            if (!await WaitForDependenciesAsync(ct)) return;
            if (ct.IsCancellationRequested) return;

            Publish(s => s with { State = KnownResourceStates.Starting, HealthStatus = null, ExitCode = null, Pid = null });
            LaunchedProcess launched;
            try
            {
                launched = orchestrator.Launch(Resource);
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
            {
                orchestrator.Log(Resource, true, $"[apphost] failed to start: {ex.Message}");
                Publish(s => s with { State = KnownResourceStates.FailedToStart, HealthStatus = null });
                return;
            }

            var startedAt = orchestrator.Time.GetUtcNow();
            CurrentPid = launched.Pid;
            var healthCheck = orchestrator.HealthCheckFor(Resource);
            Publish(s => s with
            {
                State = KnownResourceStates.Running,
                HealthStatus = healthCheck is null ? HealthStatus.Healthy : HealthStatus.Unhealthy,
                Pid = launched.Pid,
                StartTimeUtc = startedAt.UtcDateTime,
                StopTimeUtc = null,
                ExitCode = null,
                Restarts = _restarts,
                EnvironmentVariables = launched.Environment,
            });

            using var instanceCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var probe = healthCheck is null
                ? Task.CompletedTask
                : new HealthProbe(healthCheck, orchestrator.Time).RunAsync(healthy => Publish(s => s.State == KnownResourceStates.Running
                    ? s with { HealthStatus = healthy ? HealthStatus.Healthy : HealthStatus.Unhealthy }
                    : s), instanceCts.Token);

            var stopRequested = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (ct.Register(() => stopRequested.TrySetResult()))
                await Task.WhenAny(launched.Exited, stopRequested.Task);

            if (!launched.Exited.IsCompleted)
            {
                Publish(s => s with { State = KnownResourceStates.Stopping });
                await instanceCts.CancelAsync();
                await launched.TerminateAsync(orchestrator.Options.StopGracePeriod);
                await probe;
                CurrentPid = null;
                orchestrator.Ledger?.Ended(launched.Pid);
                PublishEnded(launched.ExitCode);
                return;
            }

            // The process ended on its own. Whatever it left behind in its group goes with it.
            await instanceCts.CancelAsync();
            await launched.CleanupAfterExitAsync();
            await probe;
            CurrentPid = null;
            orchestrator.Ledger?.Ended(launched.Pid);
            var exitCode = launched.ExitCode;
            if (exitCode == 0 || !policy.Enabled || ct.IsCancellationRequested)
            {
                PublishEnded(exitCode);
                return;
            }

            if (orchestrator.Time.GetUtcNow() - startedAt >= policy.ResetAfter) consecutiveCrashes = 0;
            consecutiveCrashes++;
            _restarts++;
            var delay = policy.DelayFor(consecutiveCrashes);
            // The timer exists before anyone can observe the Exited state (tests advance a fake clock on that signal).
            var backoff = Task.Delay(delay, orchestrator.Time, ct);
            Publish(s => s with
            {
                State = KnownResourceStates.Exited,
                HealthStatus = null,
                ExitCode = exitCode,
                Pid = null,
                StopTimeUtc = orchestrator.Time.GetUtcNow().UtcDateTime,
                Restarts = _restarts,
            });
            orchestrator.Log(Resource, true, $"[apphost] exited with code {exitCode}; restart #{_restarts} in {delay.TotalSeconds:0.0##} s");
            try { await backoff; }
            catch (OperationCanceledException) { return; }
        }
    }

    private void PublishEnded(int exitCode) => Publish(s => s with
    {
        State = exitCode == 0 ? KnownResourceStates.Finished : KnownResourceStates.Exited,
        HealthStatus = null,
        ExitCode = exitCode,
        Pid = null,
        StopTimeUtc = orchestrator.Time.GetUtcNow().UtcDateTime,
    });

    /// <summary>False when a dependency failed to start (this resource then fails too) or the run was cancelled.</summary>
    private async Task<bool> WaitForDependenciesAsync(CancellationToken ct)
    {
        var waits = Resource.Annotations.OfType<WaitAnnotation>().ToList();
        if (waits.Count == 0) return true;
        var notifications = orchestrator.Notifications;
        if (!waits.All(w => notifications.TryGetCurrentState(w.Resource.Name, out var e) && IsSatisfied(w, e!)))
            Publish(s => s with { State = KnownResourceStates.Waiting, HealthStatus = null });
        foreach (var wait in waits)
        {
            ResourceEvent e;
            try
            {
                e = await notifications.WaitForResourceAsync(wait.Resource.Name,
                    e => IsSatisfied(wait, e) || e.Snapshot.State == KnownResourceStates.FailedToStart, ct);
            }
            catch (OperationCanceledException)
            {
                Publish(s => s with { State = KnownResourceStates.NotStarted });
                return false;
            }
            if (e.Snapshot.State == KnownResourceStates.FailedToStart)
            {
                orchestrator.Log(Resource, true, $"[apphost] not started: dependency '{wait.Resource.Name}' failed to start");
                Publish(s => s with { State = KnownResourceStates.FailedToStart });
                return false;
            }
        }
        return true;
    }

    private static bool IsSatisfied(WaitAnnotation wait, ResourceEvent e) => wait.WaitType switch
    {
        WaitType.WaitUntilStarted => e.Snapshot.State == KnownResourceStates.Running,
        _ => e.Snapshot.IsHealthy,
    };

    private void Publish(Func<ResourceSnapshot, ResourceSnapshot> update) => orchestrator.Publish(Resource, update);
}

/// <summary>A started process: its exit, its environment, and how to end it with everything it spawned.</summary>
internal sealed class LaunchedProcess
{
    private readonly Process _process;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly bool _ownGroup;

    public LaunchedProcess(Process process, bool ownGroup, IReadOnlyList<EnvironmentVariableSnapshot> environment)
    {
        _process = process;
        Environment = environment;
        Pid = process.Id;
        // setsid makes the child leader of a group whose id is its pid — possibly a moment after Start returns, so the
        // group is signalled in addition to (never instead of) the process itself.
        _ownGroup = ownGroup;
        process.Exited += (_, _) => OnExited();
        if (process.HasExited) OnExited();
    }

    public int Pid { get; }
    public IReadOnlyList<EnvironmentVariableSnapshot> Environment { get; }
    public Task Exited => _exited.Task;
    public int ExitCode { get; private set; } = -1;

    private void OnExited()
    {
        lock (_exited)
        {
            if (_exited.Task.IsCompleted) return;
            try { ExitCode = _process.ExitCode; }
            catch (InvalidOperationException) { }
            _exited.TrySetResult();
        }
    }

    /// <summary>SIGTERM to the process and everything it spawned; SIGKILL whatever is still alive after the grace period.</summary>
    public async Task TerminateAsync(TimeSpan gracePeriod)
    {
        var tree = ProcessTree.Descendants(Pid);
        if (_ownGroup) ProcessTree.SignalGroup(Pid, ProcessTree.SigTerm);
        ProcessTree.Signal(Pid, ProcessTree.SigTerm);
        foreach (var d in tree)
            if (ProcessTree.ProcessGroupOf(d.Pid) != Pid) ProcessTree.Signal(d.Pid, ProcessTree.SigTerm);

        if (await Task.WhenAny(Exited, Task.Delay(gracePeriod)) != Exited)
        {
            if (_ownGroup) ProcessTree.SignalGroup(Pid, ProcessTree.SigKill);
            try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        }
        await Exited;
        foreach (var d in tree)
            if (ProcessTree.IsAlive(d)) ProcessTree.Signal(d.Pid, ProcessTree.SigKill);
        await CleanupAfterExitAsync();
    }

    /// <summary>After the leader exited: kill what remains of its process group, then release the process.</summary>
    public async Task CleanupAfterExitAsync()
    {
        if (_ownGroup) ProcessTree.SignalGroup(Pid, ProcessTree.SigKill);
        await WaitForOutputDrainAsync();
    }

    private bool _disposed;

    private async Task WaitForOutputDrainAsync()
    {
        if (_disposed) return;
        _disposed = true;
        // WaitForExitAsync also waits for the redirected streams to reach EOF; bounded in case something still holds them.
        try { await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(2)); }
        catch (TimeoutException) { }
        _process.Dispose();
    }
}
