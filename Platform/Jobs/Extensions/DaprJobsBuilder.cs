using Microsoft.Extensions.DependencyInjection;

namespace Platform.Jobs.Extensions;

public sealed class DaprJobsBuilder(IServiceCollection services) : IDaprJobsBuilder
{
    public IServiceCollection Services { get; } = services;
}
