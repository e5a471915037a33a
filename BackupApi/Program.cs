using BackupApi;
using BackupApi.OpenApi;
using Scalar.AspNetCore;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = RequestProblems.Describe);
// Malformed requests (wrong JSON types, numbers out of range, unbindable query values) are thrown as
// BadHttpRequestException in every environment, so they all take one path: a 4xx ProblemDetails saying what was wrong.
builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
// No operator request comes near this; a bigger body is refused (413) before it is read.
builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = RequestProblems.MaxBodyBytes);
var options = builder.Configuration.GetSection("BackupApi").Get<BackupApiOptions>() ?? new BackupApiOptions();
if (options.MaxMissedBackups < 1) throw new InvalidOperationException("BackupApi:MaxMissedBackups must be at least 1.");
if (options.WorkerTimeout <= TimeSpan.Zero) throw new InvalidOperationException("BackupApi:WorkerTimeout must be positive.");
// Fail closed: without a key of some length nothing but health and the API description answers.
var apiKey = options.ApiKey;
if (apiKey.Length < 16)
    throw new InvalidOperationException("BackupApi:ApiKey must be set to a key of at least 16 characters (the AppHost sets it from its secret parameter backupapi-key).");
builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
    .AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, o => o.ApiKey = apiKey);
builder.Services.AddAuthorization();
// The document says where the key goes and which operations need it; the API UI offers a field for it from that.
builder.Services.AddOpenApi(o => o.AddDocumentTransformer<ApiKeySecuritySchemeTransformer>().AddOperationTransformer<ApiKeyRequirementTransformer>());
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton(sp =>
{
    // Not from IHttpClientFactory on purpose: the standard resilience handler would retry POSTs (create, run now)
    // on a 5xx and so could run a backup twice. Endpoint and token are passed explicitly: a null token argument
    // would switch off the token the invocation handler otherwise reads from the environment.
    var configuration = sp.GetRequiredService<IConfiguration>();
    var endpoint = configuration["DAPR_HTTP_ENDPOINT"] is { Length: > 0 } e ? e
        : $"http://127.0.0.1:{(configuration["DAPR_HTTP_PORT"] is { Length: > 0 } p ? p : "3500")}";
    var http = Dapr.Client.DaprClient.CreateInvokeHttpClient(WorkerClient.AppId, endpoint, configuration["DAPR_API_TOKEN"]);
    http.Timeout = options.WorkerTimeout; // "run now" waits for the whole backup (restores and drills are polled).
    return new WorkerClient(http);
});

var app = builder.Build();
// Unhandled errors are ProblemDetails without internals, also in Development (where ASP.NET Core would show its
// exception page, stack trace included, to any caller).
app.UseExceptionHandler(new ExceptionHandlerOptions
{
    StatusCodeSelector = RequestProblems.StatusOf,
    // A malformed request is the caller's mistake, answered with a 4xx: not an error of ours to log with a stack trace.
    SuppressDiagnosticsCallback = context => context.Exception is BadHttpRequestException,
});
// A 4xx that no endpoint wrote a body for (an unknown route, a wrong method) is a ProblemDetails too.
app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();

app.MapDefaultEndpoints();
app.MapOpenApi();
// The key is entered once and kept in the browser's local storage, so every call made from the UI carries it.
app.MapScalarApiReference(options => options.WithTitle("BackupApi").DisableDefaultFonts()
    .AddPreferredSecuritySchemes([ApiKeyAuthenticationHandler.SchemeName]).EnablePersistentAuthentication());
app.MapGet("/", () => TypedResults.Redirect("/scalar/v1")).ExcludeFromDescription();

var api = app.MapGroup("").RequireAuthorization();
api.MapScheduleApi(options);
api.MapBackupListApi();
api.MapRestoreApi();

app.Run();

public partial class Program;
