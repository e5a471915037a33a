using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Platform.Dashboard.Hosting;

public enum ListenerRole { Frontend, OtlpGrpc, OtlpHttp }

/// <summary>
/// The three listeners (UI from ASPNETCORE_URLS, OTLP/gRPC, OTLP/HTTP) on their own ports. Requests are told
/// apart by the local port they arrived on, so the OTLP ports never serve the UI and the UI port never takes telemetry.
/// </summary>
public sealed class DashboardListeners
{
    private readonly Dictionary<int, ListenerRole> _roles = [];
    private readonly List<(Uri Url, ListenerRole Role)> _urls = [];

    public IReadOnlyList<(Uri Url, ListenerRole Role)> Urls => _urls;

    public static DashboardListeners From(string? frontendUrls, OtlpOptions otlp)
    {
        var listeners = new DashboardListeners();
        foreach (var url in (string.IsNullOrWhiteSpace(frontendUrls) ? "http://127.0.0.1:18888" : frontendUrls)
                     .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            listeners.Add(url, ListenerRole.Frontend);
        if (!string.IsNullOrWhiteSpace(otlp.GrpcEndpointUrl)) listeners.Add(otlp.GrpcEndpointUrl, ListenerRole.OtlpGrpc);
        if (!string.IsNullOrWhiteSpace(otlp.HttpEndpointUrl)) listeners.Add(otlp.HttpEndpointUrl, ListenerRole.OtlpHttp);
        return listeners;
    }

    private void Add(string text, ListenerRole role)
    {
        // Kestrel accepts "http://*:port" / "http://+:port", which Uri does not parse as a host.
        var normalized = text.Replace("://*:", "://0.0.0.0:").Replace("://+:", "://0.0.0.0:");
        if (!Uri.TryCreate(normalized, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttp)
            throw new InvalidOperationException($"Listener URL '{text}' for {role} must be an absolute http:// URL (TLS is not served).");
        if (url.Port == 0)
            throw new InvalidOperationException($"Listener URL '{text}' for {role} needs an explicit, non-zero port.");
        if (_roles.TryGetValue(url.Port, out var existing) && existing != role)
            throw new InvalidOperationException($"Port {url.Port} is configured for both {existing} and {role}; they need their own ports.");
        _roles[url.Port] = role;
        _urls.Add((url, role));
    }

    public ListenerRole RoleOf(int localPort) => _roles.TryGetValue(localPort, out var role) ? role : ListenerRole.Frontend;

    public void Configure(KestrelServerOptions kestrel)
    {
        foreach (var (url, role) in _urls)
        {
            // Without TLS there is no protocol negotiation: OTLP/gRPC is h2c with prior knowledge (HTTP/2 only),
            // the UI and OTLP/HTTP speak HTTP/1.1.
            var protocols = role == ListenerRole.OtlpGrpc ? HttpProtocols.Http2 : HttpProtocols.Http1;
            void Options(ListenOptions o) => o.Protocols = protocols;
            if (url.Host is "localhost") kestrel.ListenLocalhost(url.Port, Options);
            else if (IPAddress.TryParse(url.Host.Trim('[', ']'), out var ip)) kestrel.Listen(ip, url.Port, Options);
            else throw new InvalidOperationException($"Listener host '{url.Host}' must be an IP address or localhost.");
        }
    }
}
