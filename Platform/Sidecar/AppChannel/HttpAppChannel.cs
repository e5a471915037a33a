using Platform.Sidecar.Hosting;

namespace Platform.Sidecar.AppChannel;

/// <summary>
/// <c>POST /job/&lt;name&gt;</c> with daprd's body and headers (plus ours, <see cref="JobTrigger.ScheduledTimeHeader"/>).
/// 2xx and 404 are SUCCESS, anything else FAILED.
/// </summary>
internal sealed partial class HttpAppChannel(SidecarOptions options, AppHttpClient http, ILogger logger) : IAppChannel
{
    private readonly string _baseUrl = options.AppBaseUrl;

    public async Task<bool> DeliverJobAsync(JobTrigger trigger, CancellationToken ct)
    {
        var name = trigger.Name;
        using var request = new HttpRequestMessage(HttpMethod.Post, _baseUrl + "/job/" + Uri.EscapeDataString(name.TrimStart('/')));
        var content = new ReadOnlyMemoryContent(JobPayload.HttpBody(trigger.Data));
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        request.Content = content;
        if (!string.IsNullOrEmpty(options.AppApiToken)) request.Headers.TryAddWithoutValidation("dapr-api-token", options.AppApiToken);
        if (trigger.ScheduledTimeText is { } scheduled) request.Headers.TryAddWithoutValidation(JobTrigger.ScheduledTimeHeader, scheduled);
        TraceHeaders.Inject(request);
        try
        {
            using var response = await http.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            var status = (int)response.StatusCode;
            if (status is >= 200 and < 300) return true;
            if (status == 404)
            {
                LogNotFound(logger, name);
                return true;
            }
            LogFailed(logger, name, status);
            return false;
        }
        catch (HttpRequestException ex)
        {
            LogUnreachable(logger, name, ex.Message);
            return false;
        }
    }

    public async Task<bool> ProbeHealthAsync(string path, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _baseUrl + "/" + path.TrimStart('/'));
        if (!string.IsNullOrEmpty(options.AppApiToken)) request.Headers.TryAddWithoutValidation("dapr-api-token", options.AppApiToken);
        using var response = await http.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        return response.IsSuccessStatusCode;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "App answered 404 for job {JobName}: non-retriable, not retried")]
    private static partial void LogNotFound(ILogger logger, string jobName);

    [LoggerMessage(Level = LogLevel.Warning, Message = "App answered {Status} for job {JobName}")]
    private static partial void LogFailed(ILogger logger, string jobName, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "App unreachable for job {JobName}: {Error}")]
    private static partial void LogUnreachable(ILogger logger, string jobName, string error);
}
