using System.Globalization;
using Google.Protobuf.WellKnownTypes;

namespace Platform.Sidecar.AppChannel;

/// <summary>
/// One job trigger as the sidecar hands it to the app: the job's name and data, and the scheduled time of the tick it
/// is for when the scheduler sent one (retries and redeliveries of a tick carry the same value, so the app can tell
/// a repeated delivery from a new tick; delivery is at least once).
/// </summary>
public sealed record JobTrigger(string Name, Any? Data, DateTimeOffset? ScheduledTime = null)
{
    /// <summary>
    /// Our extension, not daprd's: the tick's scheduled time as an HTTP header of <c>POST /job/&lt;name&gt;</c> and as
    /// gRPC call metadata of <c>OnJobEvent</c>. Absent when the scheduler did not send one (real daprd never sends it).
    /// </summary>
    public const string ScheduledTimeHeader = "dapr-job-scheduled-time";

    /// <summary>The header's value: RFC 3339 in UTC with seven fractional digits, which is all a DateTimeOffset holds.</summary>
    public string? ScheduledTimeText =>
        ScheduledTime?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}
