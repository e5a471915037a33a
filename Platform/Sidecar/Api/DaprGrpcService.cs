using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Platform.Sidecar.AccessControl;
using Platform.Sidecar.AppChannel;
using Platform.Sidecar.Hosting;
using Platform.Sidecar.Invocation;
using Platform.Sidecar.Security;

namespace Platform.Sidecar.Api;

/// <summary>The gRPC runtime API: jobs (Alpha1 and stable names run the same code), InvokeService and GetMetadata.</summary>
public sealed class DaprGrpcService(JobsService jobs, ServiceInvoker invoker, MetadataProvider metadata,
    IOptions<SidecarOptions> options, SidecarMetrics metrics) : DaprServiceBase
{
    private async Task<T> Run<T>(string method, Func<Task<T>> body)
    {
        metrics.Request("grpc", method);
        try { return await body(); }
        catch (DaprError error) { throw error.ToRpcException(); }
    }

    public override Task<ScheduleJobResponse> ScheduleJobAlpha1(ScheduleJobRequest request, ServerCallContext context) => ScheduleJob(request, context);

    public override Task<ScheduleJobResponse> ScheduleJob(ScheduleJobRequest request, ServerCallContext context) =>
        Run("ScheduleJob", async () =>
        {
            await jobs.ScheduleAsync(request.Job, request.Overwrite, context.CancellationToken);
            return new ScheduleJobResponse();
        });

    public override Task<GetJobResponse> GetJobAlpha1(GetJobRequest request, ServerCallContext context) => GetJob(request, context);

    public override Task<GetJobResponse> GetJob(GetJobRequest request, ServerCallContext context) =>
        Run("GetJob", async () => new GetJobResponse { Job = await jobs.GetAsync(request.Name, context.CancellationToken) });

    public override Task<DeleteJobResponse> DeleteJobAlpha1(DeleteJobRequest request, ServerCallContext context) => DeleteJob(request, context);

    public override Task<DeleteJobResponse> DeleteJob(DeleteJobRequest request, ServerCallContext context) =>
        Run("DeleteJob", async () =>
        {
            await jobs.DeleteAsync(request.Name, context.CancellationToken);
            return new DeleteJobResponse();
        });

    public override Task<ListJobsResponseAlpha1> ListJobsAlpha1(ListJobsRequestAlpha1 request, ServerCallContext context) =>
        Run("ListJobs", async () => new ListJobsResponseAlpha1 { Jobs = { await jobs.ListAsync(context.CancellationToken) } });

    public override Task<ListJobsResponse> ListJobs(ListJobsRequest request, ServerCallContext context) =>
        Run("ListJobs", async () => new ListJobsResponse { Jobs = { await jobs.ListAsync(context.CancellationToken) } });

    public override Task<DeleteJobsByPrefixResponseAlpha1> DeleteJobsByPrefixAlpha1(DeleteJobsByPrefixRequestAlpha1 request, ServerCallContext context) =>
        Run("DeleteJobsByPrefix", async () =>
        {
            await jobs.DeleteByPrefixAsync(request.HasNamePrefix ? request.NamePrefix : null, context.CancellationToken);
            return new DeleteJobsByPrefixResponseAlpha1();
        });

    public override Task<DeleteJobsByPrefixResponse> DeleteJobsByPrefix(DeleteJobsByPrefixRequest request, ServerCallContext context) =>
        Run("DeleteJobsByPrefix", async () =>
        {
            await jobs.DeleteByPrefixAsync(request.HasNamePrefix ? request.NamePrefix : null, context.CancellationToken);
            return new DeleteJobsByPrefixResponse();
        });

    public override Task<GetMetadataResponse> GetMetadata(GetMetadataRequest request, ServerCallContext context) =>
        Run("GetMetadata", () => Task.FromResult(metadata.ToGrpc()));

    /// <summary>
    /// Calls the target app over HTTP (HTTP apps only): verb and query string from http_extension (POST when unset),
    /// body = data.value with content_type; the answer's body and content type come back in InvokeResponse.
    /// </summary>
    public override Task<InvokeResponse> InvokeService(InvokeServiceRequest request, ServerCallContext context) =>
        Run("InvokeService", async () =>
        {
            var message = request.Message ?? new InvokeRequest();
            var ext = message.HttpExtension;
            var verb = ext is null || ext.Verb == HTTPExtension.Types.Verb.None ? "POST" : ext.Verb.ToString().ToUpperInvariant();
            var query = string.IsNullOrEmpty(ext?.Querystring) ? "" : "?" + ext.Querystring;
            var target = await invoker.ResolveAsync(request.Id, message.Method, query, context.CancellationToken);
            using var httpRequest = new HttpRequestMessage(new HttpMethod(verb), target.Uri);
            if (message.Data is not null && !message.Data.Value.IsEmpty || verb is "POST" or "PUT" or "PATCH")
            {
                var content = new ByteArrayContent(message.Data?.Value.ToByteArray() ?? []);
                if (!string.IsNullOrEmpty(message.ContentType)) content.Headers.TryAddWithoutValidation("Content-Type", message.ContentType);
                httpRequest.Content = content;
            }
            foreach (var entry in context.RequestHeaders)
            {
                if (entry.IsBinary || entry.Key.StartsWith(':') || entry.Key is "dapr-api-token" or "content-type" or "te" or "user-agent"
                    or "grpc-accept-encoding" or "grpc-timeout" or "host" or "traceparent" or "tracestate" or ServiceInvoker.NoVerbHeader) continue;
                httpRequest.Headers.TryAddWithoutValidation(entry.Key, entry.Value);
            }
            var o = options.Value;
            if (target.Local && !string.IsNullOrEmpty(o.AppApiToken)) httpRequest.Headers.TryAddWithoutValidation("dapr-api-token", o.AppApiToken);
            // As ServiceInvoker: the certificate, not this app's token, authenticates this sidecar to another one.
            if (!target.Local && invoker.SendsTokenToPeers && !string.IsNullOrEmpty(o.ApiToken)) httpRequest.Headers.TryAddWithoutValidation("dapr-api-token", o.ApiToken);
            if (!target.Local && (ext is null || ext.Verb == HTTPExtension.Types.Verb.None)) httpRequest.Headers.TryAddWithoutValidation(ServiceInvoker.NoVerbHeader, "true");
            httpRequest.Headers.TryAddWithoutValidation("dapr-caller-app-id", o.AppId);
            httpRequest.Headers.TryAddWithoutValidation("dapr-callee-app-id", request.Id);
            TraceHeaders.Inject(httpRequest);
            HttpResponseMessage response;
            try
            {
                response = await invoker.ClientFor(target, request.Id).SendAsync(httpRequest, context.CancellationToken);
            }
            catch (HttpRequestException ex)
            {
                throw ServiceInvoker.InvokeError(request.Id, ex.Message);
            }
            using (response)
            {
                var body = await response.Content.ReadAsByteArrayAsync(context.CancellationToken);
                var status = (int)response.StatusCode;
                // The other sidecar refused the call (access control, a bad method): daprd's error, as daprd reports it.
                if (status is (< 200 or >= 300) && !target.Local && response.Headers.Contains(ServiceInvoker.SidecarErrorHeader)
                    && InternalInvocation.SidecarErrorMessage(body) is { } sidecarMessage)
                    throw new DaprError(StatusCode.Internal, 500, "ERR_DIRECT_INVOKE", sidecarMessage, null);
                if (status is < 200 or >= 300)
                    throw new RpcException(new Status(DaprError.GrpcCodeForHttp(status), System.Text.Encoding.UTF8.GetString(body)));
                return new InvokeResponse
                {
                    Data = new Any { Value = ByteString.CopyFrom(body) },
                    ContentType = response.Content.Headers.ContentType?.ToString() ?? "",
                };
            }
        });
}
