using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace BackupApi.OpenApi;

/// <summary>
/// Marks each operation that needs the API key (its endpoint requires authorization) with the key as its security
/// requirement and a 401 answer; anonymous ones (health, the document itself) stay without, so a UI sends the key
/// only where it is asked for.
/// </summary>
public sealed class ApiKeyRequirementTransformer : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        if (!metadata.OfType<IAuthorizeData>().Any() || metadata.OfType<IAllowAnonymous>().Any()) return Task.CompletedTask;

        operation.Security ??= [];
        operation.Security.Add(new OpenApiSecurityRequirement
        {
            [new OpenApiSecuritySchemeReference(ApiKeyAuthenticationHandler.SchemeName, context.Document)] = [],
        });
        operation.Responses ??= [];
        operation.Responses.TryAdd(StatusCodes.Status401Unauthorized.ToString(System.Globalization.CultureInfo.InvariantCulture),
            new OpenApiResponse { Description = $"No valid API key in the {ApiKeyAuthenticationHandler.HeaderName} header." });
        return Task.CompletedTask;
    }
}
