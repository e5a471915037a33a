using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Platform.Scheduler.Hosting;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
builder.Configuration.AddCommandLine(args, SchedulerOptions.SwitchMappings);
var options = builder.Configuration.GetSection(SchedulerOptions.Section).Get<SchedulerOptions>() ?? new SchedulerOptions();
builder.Services.Configure<SchedulerOptions>(builder.Configuration.GetSection(SchedulerOptions.Section));

var level = SchedulerOptions.ParseLogLevel(builder.Configuration["Scheduler:LogLevel"]);
builder.Logging.SetMinimumLevel(level);
builder.Logging.AddFilter("Microsoft.AspNetCore", level > LogLevel.Warning ? level : LogLevel.Warning);

var listen = IPAddress.Parse(options.ListenAddress);
builder.WebHost.ConfigureKestrel(k =>
{
    k.Listen(listen, options.Port, o => o.Protocols = HttpProtocols.Http2);
    k.Listen(listen, options.HealthzPort, o => o.Protocols = HttpProtocols.Http1);
});

var app = builder.Build();
app.MapGet("/healthz", () => TypedResults.Ok()).RequireHost($"*:{options.HealthzPort}");
app.Run();
