using Aspire.Hosting;

namespace Platform.Hosting.Dapr;

/// <summary>Service invocation access control for the run (Dapr's Configuration accessControl, default deny).</summary>
public static class DaprAccessControlExtensions
{
    /// <summary>
    /// Lets <paramref name="callerAppId"/> invoke <paramref name="operations"/> on <paramref name="calleeAppId"/>;
    /// every app id's sidecars refuse every other call from another sidecar (403, as daprd's access control).
    /// </summary>
    public static IDistributedApplicationBuilder AllowDaprInvocation(this IDistributedApplicationBuilder builder,
        string calleeAppId, string callerAppId, params DaprOperation[] operations)
    {
        ArgumentException.ThrowIfNullOrEmpty(calleeAppId);
        ArgumentException.ThrowIfNullOrEmpty(callerAppId);
        DaprAccessControl.Of(builder).Allow(calleeAppId, callerAppId, operations);
        return builder;
    }
}
