using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Platform.Dashboard.Security;

/// <summary>
/// Browser-token login as Aspire's dashboard does it: <c>/login?t=&lt;token&gt;</c> with the configured token sets
/// a cookie; without the token set, the UI is unsecured. The cookie holds a random secret of this process (not the
/// token), so it stops working when the dashboard restarts with a new token.
/// </summary>
public sealed class FrontendAuth(IOptions<DashboardOptions> options)
{
    public const string CookieName = "platform_dashboard_auth";
    private readonly string? _token = string.IsNullOrEmpty(options.Value.Frontend.BrowserToken) ? null : options.Value.Frontend.BrowserToken;
    private readonly string _session = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public bool Enabled => _token is not null;

    public bool IsAuthenticated(HttpContext ctx) =>
        _token is null || (ctx.Request.Cookies.TryGetValue(CookieName, out var c) && FixedTimeEquals(c, _session));

    public bool TokenMatches(string? candidate) => _token is not null && candidate is not null && FixedTimeEquals(candidate, _token);

    public void SignIn(HttpContext ctx) =>
        ctx.Response.Cookies.Append(CookieName, _session, new CookieOptions
        {
            HttpOnly = true,
            // Lax, not Strict: the login link is opened from a terminal (a cross-site navigation) and then
            // redirects; a Strict cookie would not be sent on that redirect. Lax still withholds it from cross-site POSTs.
            SameSite = SameSiteMode.Lax,
            Path = "/",
            IsEssential = true,
        });

    public static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    public void MapLogin(IEndpointRouteBuilder app)
    {
        app.MapGet("/login", (HttpContext ctx, string? t, string? returnUrl) =>
        {
            var target = returnUrl is { Length: > 0 } r && r.StartsWith('/') && !r.StartsWith("//", StringComparison.Ordinal) ? r : "/";
            if (_token is null) return Results.Redirect(target);
            if (TokenMatches(t))
            {
                SignIn(ctx);
                return Results.Redirect(target);
            }
            var status = t is null ? StatusCodes.Status200OK : StatusCodes.Status401Unauthorized;
            return Results.Content(LoginPage(t is not null, target), "text/html; charset=utf-8", statusCode: status);
        });
    }

    private static string LoginPage(bool rejected, string returnUrl) => $$"""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Login - Dashboard</title>
        <link rel="stylesheet" href="/assets/app.css"></head>
        <body class="login"><main id="login" data-testid="login-page">
        <h1>Dashboard login</h1>
        <p>Open the login link printed by the AppHost, or paste its token here.</p>
        {{(rejected ? "<p class=\"error\" data-testid=\"login-error\">Invalid token.</p>" : "")}}
        <form method="get" action="/login">
        <input type="hidden" name="returnUrl" value="{{WebUtility.HtmlEncode(returnUrl)}}">
        <input type="password" name="t" id="token" data-testid="login-token" autocomplete="off" placeholder="Token">
        <button type="submit" id="login-submit" data-testid="login-submit">Log in</button>
        </form></main></body></html>
        """;
}
