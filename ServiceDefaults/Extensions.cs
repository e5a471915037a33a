using Microsoft.AspNetCore.Builder;

namespace Microsoft.Extensions.Hosting;

// Placeholder until the ServiceDefaults issue lands: the shape of Aspire's template.
public static class Extensions
{
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder => builder;

    public static WebApplication MapDefaultEndpoints(this WebApplication app) => app;
}
