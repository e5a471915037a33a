using Microsoft.Extensions.DependencyInjection;

namespace Platform.Jobs.Extensions;

public interface IDaprJobsBuilder
{
    IServiceCollection Services { get; }
}
