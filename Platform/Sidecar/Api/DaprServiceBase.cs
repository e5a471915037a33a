using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Grpc.Core;

namespace Platform.Sidecar.Api;

/// <summary>
/// Server binding for <c>dapr.proto.runtime.v1.Dapr</c>: Dapr.Protos ships only the client stubs, so the method
/// descriptors are built here from its message types. Methods not bound here are answered UNIMPLEMENTED by gRPC.
/// </summary>
[BindServiceMethod(typeof(DaprServiceBase), nameof(BindService))]
public abstract class DaprServiceBase
{
    public const string ServiceName = "dapr.proto.runtime.v1.Dapr";

    /// <summary>Read by the gRPC reflection service to describe this service to clients such as the .NET SDK.</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => Dapr.Client.Autogen.Grpc.v1.Dapr.Descriptor;

    public virtual Task<ScheduleJobResponse> ScheduleJobAlpha1(ScheduleJobRequest request, ServerCallContext context) => throw Unimplemented();
    public virtual Task<ScheduleJobResponse> ScheduleJob(ScheduleJobRequest request, ServerCallContext context) => throw Unimplemented();
    public virtual Task<GetJobResponse> GetJobAlpha1(GetJobRequest request, ServerCallContext context) => throw Unimplemented();
    public virtual Task<GetJobResponse> GetJob(GetJobRequest request, ServerCallContext context) => throw Unimplemented();
    public virtual Task<DeleteJobResponse> DeleteJobAlpha1(DeleteJobRequest request, ServerCallContext context) => throw Unimplemented();
    public virtual Task<DeleteJobResponse> DeleteJob(DeleteJobRequest request, ServerCallContext context) => throw Unimplemented();
    public virtual Task<ListJobsResponseAlpha1> ListJobsAlpha1(ListJobsRequestAlpha1 request, ServerCallContext context) => throw Unimplemented();
    public virtual Task<ListJobsResponse> ListJobs(ListJobsRequest request, ServerCallContext context) => throw Unimplemented();
    public virtual Task<DeleteJobsByPrefixResponseAlpha1> DeleteJobsByPrefixAlpha1(DeleteJobsByPrefixRequestAlpha1 request, ServerCallContext context) => throw Unimplemented();
    public virtual Task<DeleteJobsByPrefixResponse> DeleteJobsByPrefix(DeleteJobsByPrefixRequest request, ServerCallContext context) => throw Unimplemented();
    public virtual Task<InvokeResponse> InvokeService(InvokeServiceRequest request, ServerCallContext context) => throw Unimplemented();
    public virtual Task<GetMetadataResponse> GetMetadata(GetMetadataRequest request, ServerCallContext context) => throw Unimplemented();

    private static RpcException Unimplemented() => new(new Status(StatusCode.Unimplemented, ""));

    public static void BindService(ServiceBinderBase binder, DaprServiceBase? service)
    {
        Add<ScheduleJobRequest, ScheduleJobResponse>(binder, "ScheduleJobAlpha1", service is null ? null : service.ScheduleJobAlpha1);
        Add<ScheduleJobRequest, ScheduleJobResponse>(binder, "ScheduleJob", service is null ? null : service.ScheduleJob);
        Add<GetJobRequest, GetJobResponse>(binder, "GetJobAlpha1", service is null ? null : service.GetJobAlpha1);
        Add<GetJobRequest, GetJobResponse>(binder, "GetJob", service is null ? null : service.GetJob);
        Add<DeleteJobRequest, DeleteJobResponse>(binder, "DeleteJobAlpha1", service is null ? null : service.DeleteJobAlpha1);
        Add<DeleteJobRequest, DeleteJobResponse>(binder, "DeleteJob", service is null ? null : service.DeleteJob);
        Add<ListJobsRequestAlpha1, ListJobsResponseAlpha1>(binder, "ListJobsAlpha1", service is null ? null : service.ListJobsAlpha1);
        Add<ListJobsRequest, ListJobsResponse>(binder, "ListJobs", service is null ? null : service.ListJobs);
        Add<DeleteJobsByPrefixRequestAlpha1, DeleteJobsByPrefixResponseAlpha1>(binder, "DeleteJobsByPrefixAlpha1", service is null ? null : service.DeleteJobsByPrefixAlpha1);
        Add<DeleteJobsByPrefixRequest, DeleteJobsByPrefixResponse>(binder, "DeleteJobsByPrefix", service is null ? null : service.DeleteJobsByPrefix);
        Add<InvokeServiceRequest, InvokeResponse>(binder, "InvokeService", service is null ? null : service.InvokeService);
        Add<GetMetadataRequest, GetMetadataResponse>(binder, "GetMetadata", service is null ? null : service.GetMetadata);
    }

    private static void Add<TRequest, TResponse>(ServiceBinderBase binder, string name, UnaryServerMethod<TRequest, TResponse>? handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        binder.AddMethod(new Method<TRequest, TResponse>(MethodType.Unary, ServiceName, name,
            ProtoMarshaller<TRequest>.Instance, ProtoMarshaller<TResponse>.Instance), handler);
    }
}
