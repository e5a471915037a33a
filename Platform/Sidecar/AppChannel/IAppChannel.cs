namespace Platform.Sidecar.AppChannel;

/// <summary>Delivers a job trigger to the app; true means the trigger counts as SUCCESS for the scheduler.</summary>
public interface IAppChannel
{
    Task<bool> DeliverJobAsync(JobTrigger trigger, CancellationToken ct);

    /// <summary>One app health probe (--enable-app-health-check); true = healthy.</summary>
    Task<bool> ProbeHealthAsync(string path, CancellationToken ct);
}
