using Grpc.Core;
using Grpc.Core.Interceptors;
using Platform.Scheduler.Schedules;

namespace Platform.Scheduler.Services;

/// <summary>
/// Gives every unary call the status the engine's refusals deserve, whichever method raised them: Dapr's Unknown for
/// its validation texts, InvalidArgument for malformed fields, AlreadyExists for a name taken, RESOURCE_EXHAUSTED for a
/// full quota (the refusals of <c>Schedules/JobErrors.cs</c>; the services catch none of them). Without it a refusal
/// raised where a method has no catch of its own would leave as "Exception was thrown by handler".
/// Texts that echo the caller's input are cut to <see cref="MaxDetailChars"/>: a 100,000-character name echoed whole
/// would make the status trailer too large for the caller's HTTP/2 header limit, and the answer would be lost.
/// </summary>
internal sealed class EngineErrorInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e) when (StatusOf(e) is { } status)
        {
            throw new RpcException(status);
        }
        catch (RpcException e) when (e.Status.Detail.Length > MaxDetailChars)
        {
            throw new RpcException(Cut(e.Status), e.Trailers);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception e) when (StatusOf(e) is { } status)
        {
            throw new RpcException(status);
        }
        catch (RpcException e) when (e.Status.Detail.Length > MaxDetailChars)
        {
            throw new RpcException(Cut(e.Status), e.Trailers);
        }
    }

    public const int MaxDetailChars = 1024;

    internal static Status? StatusOf(Exception e) => e switch
    {
        JobValidationException => Cut(new Status(StatusCode.Unknown, e.Message)),
        JobArgumentException => Cut(new Status(StatusCode.InvalidArgument, e.Message)),
        JobAlreadyExistsException => Cut(new Status(StatusCode.AlreadyExists, e.Message)),
        JobQuotaException => Cut(new Status(StatusCode.ResourceExhausted, e.Message)),
        _ => null,
    };

    private static Status Cut(Status status) => status.Detail.Length <= MaxDetailChars ? status
        : new Status(status.StatusCode, status.Detail[..MaxDetailChars] + $"… ({status.Detail.Length - MaxDetailChars} more characters)");
}
