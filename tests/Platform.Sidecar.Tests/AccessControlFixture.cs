using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>
/// Three sidecars with mTLS and a token each, sharing one registry, no scheduler: a callee (with an app and a Dapr
/// Configuration that lets the caller, and only it, call a few operations), the caller, and a rogue app's sidecar
/// that no policy names. The callee logs at debug, so it states the endpoints it maps. Shared by the access-control
/// and token tests, which only read from these processes.
/// </summary>
public sealed class AccessControlFixture : IAsyncLifetime
{
    public const string CalleeToken = "callee-dapr-token";
    public const string CalleeAppToken = "callee-app-token";
    public const string CallerToken = "caller-dapr-token";
    public const string RogueToken = "rogue-dapr-token";

    private readonly string _registry = Path.Combine(Path.GetTempPath(), $"acl-registry-{Guid.NewGuid():N}.db");
    private readonly string _config = Path.Combine(Path.GetTempPath(), $"acl-config-{Guid.NewGuid():N}.yaml");

    public string CalleeId { get; } = Sidecars.UniqueAppId("acl-callee");
    public string CallerId { get; } = Sidecars.UniqueAppId("acl-caller");
    public string RogueId { get; } = Sidecars.UniqueAppId("acl-rogue");
    public HttpTestApp CalleeApp { get; private set; } = null!;
    public SidecarProcess Callee { get; private set; } = null!;
    public SidecarProcess Caller { get; private set; } = null!;
    public SidecarProcess Rogue { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        File.WriteAllText(_config, $"""
            apiVersion: dapr.io/v1alpha1
            kind: Configuration
            metadata:
              name: acl
            spec:
              tracing:
                samplingRate: "1"
              accessControl:
                defaultAction: deny
                trustDomain: public
                policies:
                - appId: {CallerId}
                  defaultAction: deny
                  trustDomain: public
                  namespace: default
                  operations:
                  - name: /public
                    httpVerb: ['*']
                    action: allow
                  - name: /things/*
                    httpVerb: ['GET']
                    action: allow
            """);
        CalleeApp = await HttpTestApp.StartAsync();
        var callee = Start(CalleeId, CalleeToken, CalleeApp.Port, "debug", ["--config", _config],
            new Dictionary<string, string?> { ["APP_API_TOKEN"] = CalleeAppToken });
        var caller = Start(CallerId, CallerToken);
        var rogue = Start(RogueId, RogueToken);
        try
        {
            await Task.WhenAll(callee, caller, rogue);
        }
        finally
        {
            // Kept even when one failed, so DisposeAsync ends every process that did start.
            Callee = callee.IsCompletedSuccessfully ? callee.Result : null!;
            Caller = caller.IsCompletedSuccessfully ? caller.Result : null!;
            Rogue = rogue.IsCompletedSuccessfully ? rogue.Result : null!;
        }
    }

    private Task<SidecarProcess> Start(string appId, string token, int? appPort = null, string logLevel = "info",
        IReadOnlyList<string>? extraArgs = null, Dictionary<string, string?>? environment = null)
    {
        environment ??= [];
        environment["DAPR_API_TOKEN"] = token;
        return SidecarProcess.StartAsync(new SidecarSettings(appId)
        {
            AppPort = appPort,
            SchedulerHostAddress = "",
            NameResolutionSqlite = _registry,
            LogLevel = logLevel,
            Environment = environment,
            ExtraArgs = extraArgs,
        }, TimeSpan.FromSeconds(90)); // three at once on a loaded machine
    }

    public async Task DisposeAsync()
    {
        foreach (var sidecar in new[] { Callee, Caller, Rogue })
            if (sidecar is not null) await sidecar.DisposeAsync();
        if (CalleeApp is not null) await CalleeApp.DisposeAsync();
        foreach (var f in new[] { _registry, _registry + "-wal", _registry + "-shm", _config })
            try { File.Delete(f); } catch (IOException) { }
    }
}
