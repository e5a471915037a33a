using System.Text.Json;
using Grpc.Core;

namespace Platform.Sidecar.Api;

/// <summary>An HTTP answer with a status code and a ready-made JSON body.</summary>
public sealed class JsonErrorResult(int statusCode, byte[] body) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = statusCode;
        httpContext.Response.ContentType = "application/json";
        httpContext.Response.ContentLength = body.Length;
        return httpContext.Response.Body.WriteAsync(body).AsTask();
    }
}
