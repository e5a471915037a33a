using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Platform.Sidecar.Hosting;

namespace Platform.Sidecar.AppChannel;

/// <summary>
/// daprd's app health state (--enable-app-health-check): one successful probe makes the app healthy, and
/// --app-health-threshold consecutive failed probes make it unhealthy. Job streams live only within a healthy
/// period: <see cref="WhenHealthyAsync"/> hands out a token that is cancelled as soon as the app turns unhealthy,
/// so the streams close and the scheduler stages triggers instead of failing them.
/// Without health checks the app always counts as healthy, as daprd assumes.
/// </summary>
public sealed partial class AppHealth
{
    private readonly Lock _gate = new();
    private readonly ILogger<AppHealth> _logger;
    private readonly int _threshold;
    private int _failures;
    private CancellationTokenSource? _healthyPeriod;
    private TaskCompletionSource<CancellationToken> _becameHealthy = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public AppHealth(IOptions<SidecarOptions> options, ILogger<AppHealth> logger)
    {
        _logger = logger;
        var o = options.Value;
        Enabled = o.EnableAppHealthCheck && o.AppPortNumber is not null;
        _threshold = Math.Max(1, o.AppHealthThreshold);
        if (!Enabled) MarkHealthy();
    }

    public bool Enabled { get; }

    public AppHealthStatus Status { get; private set; }

    public bool IsHealthy => Status == AppHealthStatus.Healthy;

    /// <summary>Completes once the app is healthy, with a token cancelled when it stops being healthy.</summary>
    public Task<CancellationToken> WhenHealthyAsync(CancellationToken ct)
    {
        Task<CancellationToken> task;
        lock (_gate) task = _becameHealthy.Task;
        return task.WaitAsync(ct);
    }

    /// <summary>Records one probe result; returns true when the status changed.</summary>
    public bool Report(bool success)
    {
        CancellationTokenSource? ended;
        lock (_gate)
        {
            if (success)
            {
                _failures = 0;
                if (Status == AppHealthStatus.Healthy) return false;
                MarkHealthy();
                LogHealthy(_logger);
                return true;
            }
            _failures++;
            if (_failures < _threshold || Status == AppHealthStatus.Unhealthy) return false;
            Status = AppHealthStatus.Unhealthy;
            // Waiters from before the first probe keep waiting on the same, still pending, task.
            if (_becameHealthy.Task.IsCompleted) _becameHealthy = new(TaskCreationOptions.RunContinuationsAsynchronously);
            ended = _healthyPeriod;
            _healthyPeriod = null;
            LogUnhealthy(_logger, _failures);
        }
        // Outside the lock: cancelling runs the job streams' shutdown inline.
        // Not disposed: streams may still be linking to its (now cancelled) token.
        ended?.Cancel();
        return true;
    }

    private void MarkHealthy()
    {
        Status = AppHealthStatus.Healthy;
        _healthyPeriod = new CancellationTokenSource();
        _becameHealthy.TrySetResult(_healthyPeriod.Token);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "App health changed: healthy; opening job streams")]
    private static partial void LogHealthy(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "App health changed: unhealthy after {Failures} failed probes; closing job streams")]
    private static partial void LogUnhealthy(ILogger logger, int failures);
}
