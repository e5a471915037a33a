using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Platform.Jobs.Models;
using Platform.Jobs.Models.Responses;
using Proto = Dapr.Client.Autogen.Grpc.v1;

// The Alpha1 RPCs are deprecated in the proto but are exactly what a pre-1.18 runtime offers; calling them is the fallback.
#pragma warning disable CS0612

namespace Platform.Jobs;

/// <summary>
/// The Jobs client over the sidecar's gRPC API (<c>dapr.proto.runtime.v1.Dapr</c>) with the official generated stub.
/// Calls the stable RPCs (Dapr 1.18+) and, when the runtime answers UNIMPLEMENTED, the Alpha1 ones from then on.
/// </summary>
internal sealed class DaprJobsGrpcClient : DaprJobsClient
{
    /// <summary>The type URL Dapr's SDK stamps on job payloads; the sidecar delivers the bytes unchanged.</summary>
    internal const string PayloadTypeUrl = "dapr.io/schedule/jobpayload";

    internal static readonly string UserAgent =
        "platform-jobs-dotnet/v" + (typeof(DaprJobsGrpcClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0");

    private readonly Proto.Dapr.DaprClient _client;
    private readonly string? _apiToken;
    private readonly TimeSpan? _timeout;
    private readonly IDisposable? _owned;
    private volatile bool _useAlpha1;

    internal DaprJobsGrpcClient(Proto.Dapr.DaprClient client, string? apiToken, TimeSpan? timeout = null, IDisposable? owned = null)
    {
        _client = client;
        _apiToken = string.IsNullOrWhiteSpace(apiToken) ? null : apiToken;
        _timeout = timeout;
        _owned = owned;
    }

    /// <summary>Whether the runtime turned out to lack the stable RPCs (visible for tests).</summary>
    internal bool UsesAlpha1 => _useAlpha1;

    public override async Task ScheduleJobAsync(string jobName, DaprJobSchedule schedule, ReadOnlyMemory<byte>? payload = null,
        DateTimeOffset? startingFrom = null, int? repeats = null, DateTimeOffset? ttl = null, bool overwrite = false,
        IJobFailurePolicyOptions? failurePolicyOptions = null, CancellationToken cancellationToken = default)
    {
        var request = BuildScheduleRequest(jobName, schedule, payload, startingFrom, repeats, ttl, overwrite, failurePolicyOptions);
        using var activity = JobsTelemetry.Source.StartActivity("ScheduleJob " + jobName, ActivityKind.Client);
        activity?.SetTag("dapr.job.name", jobName);
        activity?.SetTag("dapr.job.schedule", schedule.ExpressionValue);
        await InvokeAsync("Schedule job", cancellationToken,
            (o) => _client.ScheduleJobAsync(request, o).ResponseAsync,
            (o) => _client.ScheduleJobAlpha1Async(request, o).ResponseAsync);
    }

    public override async Task<DaprJobDetails> GetJobAsync(string jobName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobName);
        var request = new Proto.GetJobRequest { Name = jobName };
        using var activity = JobsTelemetry.Source.StartActivity("GetJob " + jobName, ActivityKind.Client);
        activity?.SetTag("dapr.job.name", jobName);
        var response = await InvokeAsync("Get job", cancellationToken,
            (o) => _client.GetJobAsync(request, o).ResponseAsync,
            (o) => _client.GetJobAlpha1Async(request, o).ResponseAsync);
        if (response.Job is null)
            throw new DaprJobsException("Get job operation failed: the Dapr endpoint did not return the expected value.");
        return ToDetails(response.Job);
    }

    public override async Task DeleteJobAsync(string jobName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobName);
        var request = new Proto.DeleteJobRequest { Name = jobName };
        using var activity = JobsTelemetry.Source.StartActivity("DeleteJob " + jobName, ActivityKind.Client);
        activity?.SetTag("dapr.job.name", jobName);
        await InvokeAsync("Delete job", cancellationToken,
            (o) => _client.DeleteJobAsync(request, o).ResponseAsync,
            (o) => _client.DeleteJobAlpha1Async(request, o).ResponseAsync);
    }

    public override async Task<IReadOnlyList<DaprJobDetails>> ListJobsAsync(CancellationToken cancellationToken = default)
    {
        using var activity = JobsTelemetry.Source.StartActivity("ListJobs", ActivityKind.Client);
        var jobs = await InvokeAsync<IEnumerable<Proto.Job>>("List jobs", cancellationToken,
            async (o) => (await _client.ListJobsAsync(new Proto.ListJobsRequest(), o).ResponseAsync).Jobs,
            async (o) => (await _client.ListJobsAlpha1Async(new Proto.ListJobsRequestAlpha1(), o).ResponseAsync).Jobs);
        return jobs.Select(ToDetails).ToList();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _owned?.Dispose();
    }

    internal static Proto.ScheduleJobRequest BuildScheduleRequest(string jobName, DaprJobSchedule schedule, ReadOnlyMemory<byte>? payload,
        DateTimeOffset? startingFrom, int? repeats, DateTimeOffset? ttl, bool overwrite, IJobFailurePolicyOptions? failurePolicyOptions)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobName);
        ArgumentNullException.ThrowIfNull(schedule);
        if (repeats < 0) throw new ArgumentOutOfRangeException(nameof(repeats), repeats, "Repeats cannot be negative.");
        if (ttl is not null && startingFrom is not null && ttl < startingFrom)
            throw new ArgumentException("The TTL must not be before the starting time.", nameof(ttl));

        var job = new Proto.Job { Name = jobName };
        // Unlike Dapr's SDK, an expression no predicate recognises is still sent as the schedule, so the runtime
        // rejects it with its own message instead of the confusing "Schedule is empty".
        if (schedule.IsPointInTimeExpression) job.DueTime = schedule.ExpressionValue;
        else job.Schedule = schedule.ExpressionValue;
        if (startingFrom is { } start) job.DueTime = start.ToString("O", CultureInfo.InvariantCulture);
        if (repeats is { } r) job.Repeats = (uint)r;
        if (ttl is { } t) job.Ttl = t.ToString("O", CultureInfo.InvariantCulture);
        if (payload is { } p) job.Data = new Any { TypeUrl = PayloadTypeUrl, Value = ByteString.CopyFrom(p.Span) };
        if (failurePolicyOptions is not null) job.FailurePolicy = ToProto(failurePolicyOptions);
        return new Proto.ScheduleJobRequest { Job = job, Overwrite = overwrite };
    }

    private static Proto.JobFailurePolicy ToProto(IJobFailurePolicyOptions options) => options switch
    {
        JobFailurePolicyDropOptions => new Proto.JobFailurePolicy { Drop = new Proto.JobFailurePolicyDrop() },
        JobFailurePolicyConstantOptions c => new Proto.JobFailurePolicy { Constant = ConstantOf(c) },
        _ => throw new ArgumentException($"Unsupported failure policy {options.GetType().Name}.", nameof(options)),
    };

    private static Proto.JobFailurePolicyConstant ConstantOf(JobFailurePolicyConstantOptions c)
    {
        if (c.Interval < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(c), c.Interval, "The retry interval cannot be negative.");
        var constant = new Proto.JobFailurePolicyConstant { Interval = Duration.FromTimeSpan(c.Interval) };
        if (c.MaxRetries is { } max) constant.MaxRetries = max;
        return constant;
    }

    internal static DaprJobDetails ToDetails(Proto.Job job)
    {
        var hasDue = job.HasDueTime && job.DueTime.Length > 0;
        var dueInstant = hasDue && TryParseInstant(job.DueTime, out var d) ? d : (DateTimeOffset?)null;
        // A job with a schedule is described by it; a one-shot job by its due time.
        var schedule = job.HasSchedule && job.Schedule.Length > 0
            ? DaprJobSchedule.FromExpression(job.Schedule)
            : DaprJobSchedule.FromExpression(hasDue ? job.DueTime : "");
        return new DaprJobDetails(schedule)
        {
            Name = job.Name,
            ScheduleExpression = job.HasSchedule ? job.Schedule : null,
            RepeatCount = job.HasRepeats ? (int)job.Repeats : null,
            DueTime = dueInstant,
            DueTimeExpression = hasDue ? job.DueTime : null,
            Ttl = job.HasTtl && TryParseInstant(job.Ttl, out var t) ? t : null,
            TtlExpression = job.HasTtl && job.Ttl.Length > 0 ? job.Ttl : null,
            Payload = job.Data?.Value.ToByteArray(),
            FailurePolicy = job.FailurePolicy?.PolicyCase switch
            {
                Proto.JobFailurePolicy.PolicyOneofCase.Drop => new ConfiguredDropFailurePolicy(),
                Proto.JobFailurePolicy.PolicyOneofCase.Constant => new ConfiguredConstantFailurePolicy(
                    job.FailurePolicy.Constant.HasMaxRetries,
                    job.FailurePolicy.Constant.HasMaxRetries ? (int)job.FailurePolicy.Constant.MaxRetries : null,
                    job.FailurePolicy.Constant.Interval?.ToTimeSpan() ?? TimeSpan.Zero),
                _ => null,
            },
        };
    }

    private static bool TryParseInstant(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value);

    private CallOptions CreateCallOptions(CancellationToken cancellationToken)
    {
        var headers = new Metadata { { "User-Agent", UserAgent } };
        if (_apiToken is not null) headers.Add("dapr-api-token", _apiToken);
        if (Activity.Current is { IdFormat: ActivityIdFormat.W3C } current)
        {
            headers.Add("traceparent", current.Id!);
            if (!string.IsNullOrEmpty(current.TraceStateString)) headers.Add("tracestate", current.TraceStateString);
        }
        DateTime? deadline = _timeout is { } t ? DateTime.UtcNow.Add(t) : null;
        return new CallOptions(headers, deadline, cancellationToken);
    }

    private async Task<T> InvokeAsync<T>(string operation, CancellationToken cancellationToken,
        Func<CallOptions, Task<T>> stable, Func<CallOptions, Task<T>> alpha1)
    {
        try
        {
            if (!_useAlpha1)
            {
                try
                {
                    var result = await stable(CreateCallOptions(cancellationToken));
                    JobsTelemetry.Record(operation, "OK");
                    return result;
                }
                catch (RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.Unimplemented)
                {
                    // A runtime older than 1.18 has only the Alpha1 methods; remember, so later calls go there directly.
                    _useAlpha1 = true;
                }
            }
            var alphaResult = await alpha1(CreateCallOptions(cancellationToken));
            JobsTelemetry.Record(operation, "OK");
            return alphaResult;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Dapr's SDK swallows the caller's own cancellation; a caller that cancels should see it, so rethrow.
            throw;
        }
        catch (RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (Exception e) when (e is not DaprJobsException)
        {
            JobsTelemetry.Record(operation, e is RpcException rpc ? rpc.StatusCode.ToString() : "Error");
            Activity.Current?.SetStatus(ActivityStatusCode.Error, e.Message);
            throw new DaprJobsException($"{operation} operation failed: the Dapr endpoint indicated a failure. See InnerException for details.", e);
        }
    }
}
