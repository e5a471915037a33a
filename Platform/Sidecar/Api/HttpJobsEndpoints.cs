using Platform.Sidecar.Hosting;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Platform.Sidecar.Protos;
using RuntimeJob = Dapr.Client.Autogen.Grpc.v1.Job;
using RuntimeFailurePolicy = Dapr.Client.Autogen.Grpc.v1.JobFailurePolicy;

namespace Platform.Sidecar.Api;

/// <summary>The HTTP jobs API: POST/GET/DELETE <c>/v1.0-alpha1/jobs/{name}</c> and <c>/v1.0/jobs/{name}</c>, as daprd answers them.</summary>
public static class HttpJobsEndpoints
{
    private static readonly JsonParser BodyParser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    // The types daprd can render inside an Any in a GET answer; others fail as daprd fails (500 ERR_INTERNAL).
    private static readonly JsonFormatter JobFormatter = new(JsonFormatter.Settings.Default.WithTypeRegistry(TypeRegistry.FromFiles(
        StructReflection.Descriptor, WrappersReflection.Descriptor, TimestampReflection.Descriptor, DurationReflection.Descriptor,
        EmptyReflection.Descriptor, AnyReflection.Descriptor, FieldMaskReflection.Descriptor)));

    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/v1.0-alpha1/jobs", "/v1.0/jobs" })
        {
            app.MapPost(prefix + "/{name}", (HttpContext context, JobsService jobs, SidecarMetrics metrics) => ScheduleAsync(context, prefix, jobs, metrics));
            app.MapGet(prefix + "/{name}", (HttpContext context, JobsService jobs, SidecarMetrics metrics) => GetAsync(context, prefix, jobs, metrics));
            app.MapDelete(prefix + "/{name}", (HttpContext context, JobsService jobs, SidecarMetrics metrics) => DeleteAsync(context, prefix, jobs, metrics));
        }
    }

    /// <summary>
    /// The name segment decoded with Go's query-unescape rules (so "+" is a space and "%2F" a slash), which ASP.NET's
    /// path decoding does not do; null when an escape is malformed.
    /// </summary>
    internal static string? NameFromRawTarget(HttpContext context, string prefix)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        var q = raw.IndexOf('?');
        if (q >= 0) raw = raw[..q];
        var at = raw.IndexOf(prefix + "/", StringComparison.Ordinal);
        var segment = at >= 0 ? raw[(at + prefix.Length + 1)..] : (string?)context.Request.RouteValues["name"] ?? "";
        return QueryUnescape(segment);
    }

    internal static string? QueryUnescape(string s)
    {
        if (s.AsSpan().IndexOfAny('%', '+') < 0) return s;
        var bytes = new List<byte>(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '%')
            {
                if (i + 2 >= s.Length || !Uri.IsHexDigit(s[i + 1]) || !Uri.IsHexDigit(s[i + 2])) return null;
                bytes.Add(Convert.ToByte(s.Substring(i + 1, 2), 16));
                i += 2;
            }
            else if (c == '+') bytes.Add((byte)' ');
            else bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }

    private static IResult BadEscape() => TypedResults.Text("invalid URL escape", "text/plain", statusCode: 400);

    private static async Task<IResult> ScheduleAsync(HttpContext context, string prefix, JobsService jobs, SidecarMetrics metrics)
    {
        metrics.Request("http", "ScheduleJob");
        var rawName = NameFromRawTarget(context, prefix);
        if (rawName is null) return BadEscape();
        try
        {
            var body = await ReadBodyAsync(context.Request);
            var parsed = ParseBody(body);
            if (parsed.Name.Length > 0) throw jobs.Errors.NameInBody();
            var name = rawName.Trim();
            if (name.Length == 0) throw jobs.Errors.NameEmpty();
            var job = ToRuntimeJob(name, parsed);
            await jobs.ScheduleAsync(job, parsed.Overwrite, context.RequestAborted);
            return TypedResults.NoContent();
        }
        catch (DaprError error)
        {
            return error.ToHttpResult();
        }
    }

    private static async Task<IResult> GetAsync(HttpContext context, string prefix, JobsService jobs, SidecarMetrics metrics)
    {
        metrics.Request("http", "GetJob");
        var name = NameFromRawTarget(context, prefix);
        if (name is null) return BadEscape();
        try
        {
            var job = await jobs.GetAsync(name, context.RequestAborted);
            string json;
            try
            {
                // Compact, like daprd's output; clients compare semantically anyway.
                json = JsonNode.Parse(JobFormatter.Format(job))!.ToJsonString();
            }
            catch (Exception ex) when (ex is InvalidOperationException or InvalidProtocolBufferException)
            {
                throw DaprErrors.Internal("failed to encode response as JSON: " + ex.Message);
            }
            return TypedResults.Text(json, "application/json", Encoding.UTF8, 200);
        }
        catch (DaprError error)
        {
            return error.ToHttpResult();
        }
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, string prefix, JobsService jobs, SidecarMetrics metrics)
    {
        metrics.Request("http", "DeleteJob");
        var name = NameFromRawTarget(context, prefix);
        if (name is null) return BadEscape();
        try
        {
            await jobs.DeleteAsync(name, context.RequestAborted);
            return TypedResults.NoContent();
        }
        catch (DaprError error)
        {
            return error.ToHttpResult();
        }
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request)
    {
        var maxBodyBytes = request.HttpContext.RequestServices.GetRequiredService<IOptions<SidecarOptions>>().Value.MaxBodyBytes;
        if (request.ContentLength > maxBodyBytes) throw DaprErrors.BodyRead("stream too large");
        // The usual case: a small body with a declared length, read straight into its final array.
        if (request.ContentLength is { } length)
        {
            var body = new byte[length];
            var offset = 0;
            while (offset < body.Length)
            {
                var n = await request.Body.ReadAsync(body.AsMemory(offset), request.HttpContext.RequestAborted);
                if (n == 0) break;
                offset += n;
            }
            return offset == body.Length ? body : body[..offset];
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            if (buffer.Length + read > maxBodyBytes) throw DaprErrors.BodyRead("stream too large");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>Protobuf-JSON rules: unknown fields ignored, JSON and proto field names both accepted. Empty body = no fields.</summary>
    internal static HttpJobRequest ParseBody(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body);
        if (string.IsNullOrWhiteSpace(text)) return new HttpJobRequest();
        try
        {
            return BodyParser.Parse<HttpJobRequest>(text);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException or FormatException or InvalidOperationException or OverflowException)
        {
            throw DaprErrors.Malformed(ex.Message);
        }
    }

    internal static RuntimeJob ToRuntimeJob(string name, HttpJobRequest body)
    {
        var job = new RuntimeJob { Name = name };
        if (body.HasSchedule) job.Schedule = body.Schedule;
        if (body.HasRepeats) job.Repeats = body.Repeats;
        if (body.HasDueTime) job.DueTime = body.DueTime;
        if (body.HasTtl) job.Ttl = body.Ttl;
        if (body.Data is not null) job.Data = Any.Pack(body.Data);
        if (body.FailurePolicy is not null) job.FailurePolicy = RuntimeFailurePolicy.Parser.ParseFrom(body.FailurePolicy.ToByteString());
        return job;
    }
}
