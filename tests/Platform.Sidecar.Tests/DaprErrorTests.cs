using System.Text.Json;
using Grpc.Core;
using Platform.Sidecar.Api;

namespace Platform.Sidecar.Tests;

public class DaprErrorTests
{
    [Fact]
    public void Kit_error_renders_json_and_grpc_status_details()
    {
        var error = new DaprErrors("app1", "ns1").ScheduleEmpty();
        using var doc = JsonDocument.Parse(error.ToJson());
        var root = doc.RootElement;
        Assert.Equal(["errorCode", "message", "details"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("DAPR_SCHEDULER_SCHEDULE_EMPTY", root.GetProperty("errorCode").GetString());
        var detail = root.GetProperty("details")[0];
        Assert.Equal(["@type", "domain", "metadata", "reason"], detail.EnumerateObject().Select(p => p.Name));
        Assert.Equal("ns1", detail.GetProperty("metadata").GetProperty("namespace").GetString());

        var rpc = error.ToRpcException();
        Assert.Equal(StatusCode.InvalidArgument, rpc.StatusCode);
        var status = Google.Rpc.Status.Parser.ParseFrom(rpc.Trailers.GetValueBytes(DaprError.DetailsTrailer));
        var info = status.Details.Single().Unpack<Google.Rpc.ErrorInfo>();
        Assert.Equal(("dapr.io", "DAPR_SCHEDULER_SCHEDULE_EMPTY", "app1"), (info.Domain, info.Reason, info.Metadata["appID"]));
    }

    [Fact]
    public void Schedule_failure_passes_the_code_through_except_unknown()
    {
        var errors = new DaprErrors("a", "default");
        var exists = errors.ScheduleFailed(StatusCode.AlreadyExists, DaprError.GoErrorString(new RpcException(new Status(StatusCode.AlreadyExists, "job already exists: 'x'"))));
        Assert.Equal((StatusCode.AlreadyExists, 409), (exists.Code, exists.HttpStatus));
        Assert.Equal("failed to schedule job due to: rpc error: code = AlreadyExists desc = job already exists: 'x'", exists.Message);
        var unknown = errors.ScheduleFailed(StatusCode.Unknown, "rpc error: code = Unknown desc = bad");
        Assert.Equal((StatusCode.Internal, 500), (unknown.Code, unknown.HttpStatus));
        Assert.Equal("rpc error: code = Canceled desc = x", DaprError.GoErrorString(new RpcException(new Status(StatusCode.Cancelled, "x"))));
    }
}
