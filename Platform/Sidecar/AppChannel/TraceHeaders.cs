using System.Diagnostics;
using Grpc.Core;

namespace Platform.Sidecar.AppChannel;

/// <summary>W3C trace context onto outgoing calls, from the current delivery span.</summary>
internal static class TraceHeaders
{
    public static void Inject(HttpRequestMessage request)
    {
        var activity = Activity.Current;
        if (activity is null) return;
        request.Headers.Remove("traceparent");
        request.Headers.TryAddWithoutValidation("traceparent", activity.Id);
        if (!string.IsNullOrEmpty(activity.TraceStateString)) request.Headers.TryAddWithoutValidation("tracestate", activity.TraceStateString);
    }

    public static void Inject(Metadata headers)
    {
        var activity = Activity.Current;
        if (activity is null) return;
        headers.Add("traceparent", activity.Id!);
        if (!string.IsNullOrEmpty(activity.TraceStateString)) headers.Add("tracestate", activity.TraceStateString);
    }
}
