using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Platform.Jobs.Extensions;

public static class EndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>POST /job/{jobName}</c>, where the sidecar delivers job triggers, to <paramref name="action"/>.
    /// Parameters are bound by type: every <see cref="string"/> gets the job name, <see cref="ReadOnlyMemory{T}"/> of byte
    /// the request body, <see cref="CancellationToken"/> a token cancelled after <paramref name="timeout"/> (or when the
    /// request is aborted), anything else a service from the request's services (null when not registered).
    /// The trigger is answered 200 when the delegate completes, 500 when it throws; ours in addition: when it returns an
    /// <see cref="IResult"/> (directly or from a task) that result is the answer, so a handler can report a failed run
    /// with a non-2xx status and have the failure policy retry it without throwing.
    /// </summary>
    public static IEndpointRouteBuilder MapDaprScheduledJobHandler(this IEndpointRouteBuilder endpoints, Delegate action, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(action);
        var parameters = action.Method.GetParameters();
        endpoints.MapPost("/job/{jobName}", async context =>
        {
            var jobName = (string)context.Request.RouteValues["jobName"]!;
            using var timeoutSource = timeout is { } t ? new CancellationTokenSource(t) : new CancellationTokenSource();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeoutSource.Token, context.RequestAborted);

            ReadOnlyMemory<byte> body = ReadOnlyMemory<byte>.Empty;
            if (parameters.Any(p => p.ParameterType == typeof(ReadOnlyMemory<byte>)))
            {
                using var buffer = new MemoryStream();
                await context.Request.Body.CopyToAsync(buffer, linked.Token);
                body = buffer.ToArray();
            }

            var arguments = parameters.Select(p => Bind(p, context, jobName, body, linked.Token)).ToArray();
            object? result;
            try
            {
                result = action.DynamicInvoke(arguments);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                throw;
            }

            if (result is Task task)
            {
                await task;
                var type = task.GetType();
                result = type.IsGenericType && type.GetProperty("Result") is { } property ? property.GetValue(task) : null;
            }
            else if (result is ValueTask valueTask)
            {
                await valueTask;
                result = null;
            }

            if (result is IResult httpResult) await httpResult.ExecuteAsync(context);
        });
        return endpoints;
    }

    private static object? Bind(ParameterInfo parameter, HttpContext context, string jobName, ReadOnlyMemory<byte> body, CancellationToken token)
    {
        var type = parameter.ParameterType;
        if (type == typeof(string)) return jobName;
        if (type == typeof(ReadOnlyMemory<byte>)) return body;
        if (type == typeof(CancellationToken)) return token;
        if (type == typeof(HttpContext)) return context;
        return context.RequestServices.GetService(type);
    }
}
