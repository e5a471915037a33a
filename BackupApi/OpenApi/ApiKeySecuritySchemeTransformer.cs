using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace BackupApi.OpenApi;

/// <summary>
/// Declares the operators' API key (the <c>X-Api-Key</c> header <see cref="ApiKeyAuthenticationHandler"/> reads) as
/// the document's security scheme, so that an API UI or a generated client knows where to send it.
/// </summary>
public sealed class ApiKeySecuritySchemeTransformer : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[ApiKeyAuthenticationHandler.SchemeName] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = ApiKeyAuthenticationHandler.HeaderName,
            Description = "The operators' API key: the AppHost's secret parameter backupapi-key (shown masked in the Aspire dashboard).",
        };
        return Task.CompletedTask;
    }
}
