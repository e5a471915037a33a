public static class PlainHttpProjects
{
    /// <summary>
    /// Aspire gives every project an HTTPS certificate configuration, used only if the project has an HTTPS endpoint.
    /// Its mere presence makes the AppHost look for a trusted development certificate and, on a machine without one
    /// (a fresh Linux clone), greet every run with a red "No trusted development certificate" notification, though
    /// nothing in the run serves HTTPS. Projects with no HTTPS endpoint are marked as such, so that warning only shows
    /// when something does (the dashboard in the https launch profile).
    /// </summary>
    public static IDistributedApplicationBuilder WithoutUnusedHttpsCertificates(this IDistributedApplicationBuilder builder)
    {
        foreach (var project in builder.Resources.OfType<ProjectResource>().ToList())
        {
            if (project.Annotations.OfType<EndpointAnnotation>().Any(e => e.UriScheme == "https")) continue;
#pragma warning disable ASPIRECERTIFICATES001 // Evaluation API: the replacement annotation says "no certificate".
            builder.CreateResourceBuilder(project).WithoutHttpsCertificate();
#pragma warning restore ASPIRECERTIFICATES001
        }
        return builder;
    }
}
