using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Platform.Security;
using Platform.Sentry;

// Configured by flags alone: no settings file to reload, so no watcher over the working directory and all below it
// (started from a repository's root, it cost the scheduler a quarter of a second of CPU).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
builder.Configuration.AddCommandLine(args, SentryOptions.SwitchMappings);
var options = builder.Configuration.GetSection(SentryOptions.Section).Get<SentryOptions>() ?? new SentryOptions();
if (options.Validate() is { } invalid)
{
    Console.Error.WriteLine(invalid);
    return 2;
}

BootstrapTokens tokens;
CertificateAuthority authority;
EtcdClientSigning? etcd;
try
{
    tokens = BootstrapTokens.Parse(Environment.GetEnvironmentVariable(SentryOptions.BootstrapTokensVariable));
    (authority, var etcdAuthority) = SentryAuthority.Load(options, TimeProvider.System);
    etcd = EtcdClientSigning.From(etcdAuthority, Environment.GetEnvironmentVariable(SentryOptions.EtcdClientTokensVariable), tokens);
}
catch (Exception e) when (e is FormatException or IdentityException)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

var level = options.LogLevel?.ToLowerInvariant() switch
{
    "debug" => LogLevel.Debug,
    "warn" or "warning" => LogLevel.Warning,
    "error" => LogLevel.Error,
    _ => LogLevel.Information,
};
builder.Logging.SetMinimumLevel(level);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Logging.AddFilter("Grpc", LogLevel.Warning);

var servingId = Platform.Security.Renewal.SentryClient.SentryId(options.TrustDomain, options.Namespace);
builder.Services.AddSingleton(sp => new ServingCertificate(authority, servingId, options.WorkloadLifetime, options.ClockSkew,
    TimeProvider.System, sp.GetRequiredService<ILogger<ServingCertificate>>()));
var listen = IPAddress.Parse(options.ListenAddress);
builder.WebHost.ConfigureKestrel(k =>
{
    k.Limits.MaxConcurrentConnections = 1024;
    k.Limits.MaxRequestBodySize = 64 * 1024;
    var serving = k.ApplicationServices.GetRequiredService<ServingCertificate>();
    k.Listen(listen, options.Port, o =>
    {
        o.Protocols = HttpProtocols.Http2;
        // Like Dapr's Sentry: TLS without client certificates, since a requester has none yet; the token authenticates.
        o.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificateSelector = (_, _) => serving.Current(),
            SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
        });
    });
    k.Listen(listen, options.HealthzPort, o => o.Protocols = HttpProtocols.Http1);
});
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
builder.Services.AddSingleton(authority);
builder.Services.AddSingleton(sp => new CertificateSigner(authority, tokens, options.WorkloadLifetime, options.ClockSkew,
    sp.GetRequiredService<ILogger<CertificateSigner>>(), etcd));
builder.Services.AddGrpc(o =>
{
    o.MaxReceiveMessageSize = 64 * 1024;
    o.EnableDetailedErrors = false;
});

var app = builder.Build();
app.MapWhen(ctx => ctx.Connection.LocalPort == options.HealthzPort, health => health.Run(ctx =>
{
    if (ctx.Request.Path != "/healthz")
    {
        ctx.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }
    ctx.Response.Headers.CacheControl = "no-store";
    return ctx.Response.WriteAsync("ok");
}));
app.MapGrpcService<CaService>();
app.Lifetime.ApplicationStarted.Register(() => app.Logger.LogInformation(
    "Sentry {Id} serving dapr.proto.sentry.v1.CA on {Address}:{Port}; workload certificates live {Lifetime}; {Count} bootstrap tokens; {EtcdCount} etcd client tokens",
    servingId, options.ListenAddress, options.Port, options.WorkloadLifetime, tokens.Count, etcd?.Tokens.Count ?? 0));
app.Run();
return 0;
