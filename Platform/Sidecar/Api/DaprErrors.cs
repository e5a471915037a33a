using Grpc.Core;

namespace Platform.Sidecar.Api;

/// <summary>The Jobs error catalogue of daprd (reasons and messages), bound to this sidecar's app id and namespace.</summary>
public sealed class DaprErrors(string appId, string ns)
{
    private IReadOnlyDictionary<string, string> Meta => new Dictionary<string, string> { ["appID"] = appId, ["namespace"] = ns };

    public DaprError JobEmpty() => new(StatusCode.InvalidArgument, 400, "DAPR_SCHEDULER_EMPTY", "Job is empty", Meta);
    public DaprError NameEmpty() => new(StatusCode.InvalidArgument, 400, "DAPR_SCHEDULER_JOB_NAME_EMPTY", "Name is empty", Meta);
    public DaprError ScheduleEmpty() => new(StatusCode.InvalidArgument, 400, "DAPR_SCHEDULER_SCHEDULE_EMPTY", "Schedule is empty", Meta);

    public DaprError NameInBody() => new(StatusCode.InvalidArgument, 400, "DAPR_SCHEDULER_JOB_NAME", "Set the job name in the url only",
        new Dictionary<string, string> { ["appID"] = appId });

    /// <summary>ScheduleJob passes the scheduler's code through, except Unknown which becomes Internal.</summary>
    public DaprError ScheduleFailed(StatusCode code, string cause)
    {
        var c = code == StatusCode.Unknown ? StatusCode.Internal : code;
        return new(c, DaprError.HttpStatusFor(c), "DAPR_SCHEDULER_SCHEDULE_JOB", "failed to schedule job due to: " + cause, Meta);
    }

    public DaprError GetFailed(string cause) =>
        new(StatusCode.Internal, 500, "DAPR_SCHEDULER_GET_JOB", "failed to get job due to: " + cause, Meta);

    public DaprError DeleteFailed(string cause) =>
        new(StatusCode.Internal, 500, "DAPR_SCHEDULER_DELETE_JOB", "failed to delete job due to: " + cause, Meta);

    public DaprError ListFailed(string cause) =>
        new(StatusCode.Internal, 500, "DAPR_SCHEDULER_LIST_JOBS", "failed to list jobs due to: " + cause, Meta);

    public static DaprError Malformed(string detail) =>
        new(StatusCode.InvalidArgument, 400, "ERR_MALFORMED_REQUEST", "failed deserializing HTTP body: " + detail, null);

    public static DaprError BodyRead(string detail) =>
        new(StatusCode.InvalidArgument, 400, "ERR_BODY_READ", "failed to read request body: " + detail, null);

    public static DaprError Internal(string message) => new(StatusCode.Internal, 500, "ERR_INTERNAL", message, null);
}
