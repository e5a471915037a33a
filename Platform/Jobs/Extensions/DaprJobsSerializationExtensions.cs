using System.Text;
using System.Text.Json;
using Platform.Jobs.Models;

namespace Platform.Jobs.Extensions;

public static class DaprJobsSerializationExtensions
{
    private static readonly JsonSerializerOptions WebOptions = new(JsonSerializerDefaults.Web);

    /// <summary>Schedules a job whose payload is <paramref name="payload"/> as UTF-8 JSON (web defaults unless options are given).</summary>
    public static Task ScheduleJobWithPayloadAsync(this DaprJobsClient client, string jobName, DaprJobSchedule schedule,
        object payload, DateTime? startingFrom = null, int? repeats = null, JsonSerializerOptions? jsonSerializerOptions = null,
        DateTimeOffset? ttl = null, bool overwrite = false, IJobFailurePolicyOptions? failurePolicyOptions = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(payload);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(payload, payload.GetType(), jsonSerializerOptions ?? WebOptions);
        return client.ScheduleJobAsync(jobName, schedule, bytes, ToOffset(startingFrom), repeats, ttl, overwrite, failurePolicyOptions, cancellationToken);
    }

    /// <summary>Schedules a job whose payload is <paramref name="payload"/> as UTF-8 text.</summary>
    public static Task ScheduleJobWithPayloadAsync(this DaprJobsClient client, string jobName, DaprJobSchedule schedule,
        string payload, DateTime? startingFrom = null, int? repeats = null, DateTimeOffset? ttl = null, bool overwrite = false,
        IJobFailurePolicyOptions? failurePolicyOptions = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(payload);
        return client.ScheduleJobAsync(jobName, schedule, Encoding.UTF8.GetBytes(payload), ToOffset(startingFrom), repeats, ttl, overwrite, failurePolicyOptions, cancellationToken);
    }

    // An unspecified-kind DateTime is taken as UTC: the runtime's clock is UTC and a local guess would shift the job.
    private static DateTimeOffset? ToOffset(DateTime? value) => value switch
    {
        null => null,
        { Kind: DateTimeKind.Local } v => new DateTimeOffset(v),
        { } v => new DateTimeOffset(DateTime.SpecifyKind(v, DateTimeKind.Utc)),
    };
}
