using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;

namespace Platform.Hosting.Dapr;

/// <summary>
/// A job's Delete, twice over: the dashboard's, confirmed in its dialog, and the API's (the Aspire CLI's
/// <c>aspire resource &lt;job&gt; delete</c>), confirmed by its <c>confirm</c> argument. The CLI is never sent a command's
/// confirmation message, so the API command asks the same question as an argument: the CLI prompts for it, a script
/// must pass it (<c>-- --confirm true</c>), and without a yes nothing is deleted, as in the dashboard.
/// </summary>
internal static class DaprJobCommands
{
    public static void Add(DaprJobResource job, Func<CancellationToken, Task<ExecuteCommandResult>> delete)
    {
        var question = $"Delete job '{job.JobName}' of app '{job.AppId}'? Its remaining triggers will not fire.";
        const string description = "Delete this job from the scheduler: no further triggers.";

        job.Annotations.Add(new ResourceCommandAnnotation(
            DaprJobResource.DeleteCommandName, "Delete", Enabled, context => delete(context.CancellationToken),
            displayDescription: description, arguments: null, confirmationMessage: question,
            iconName: "Delete", iconVariant: IconVariant.Regular, isHighlighted: false, visibility: ResourceCommandVisibility.UI));

        job.Annotations.Add(new ResourceCommandAnnotation(
            DaprJobResource.ApiDeleteCommandName, "Delete", Enabled, context => delete(context.CancellationToken),
            displayDescription: $"{description} Pass --confirm true to answer yes.",
            arguments:
            [
                new InteractionInput { Name = DaprJobResource.ConfirmArgument, Label = question, InputType = InputType.Boolean, Required = true },
            ],
            confirmationMessage: null, iconName: "Delete", iconVariant: IconVariant.Regular, isHighlighted: false,
            visibility: ResourceCommandVisibility.Api,
            validateArguments: context =>
            {
                var confirm = context.Inputs[DaprJobResource.ConfirmArgument];
                if (!string.Equals(confirm.Value, "true", StringComparison.OrdinalIgnoreCase))
                    context.AddValidationError(confirm, "Not deleted: answer yes (--confirm true) to delete the job.");
                return Task.CompletedTask;
            }));
    }

    /// <summary>A job the scheduler no longer holds has nothing to delete.</summary>
    private static ResourceCommandState Enabled(UpdateCommandStateContext context)
        => context.ResourceSnapshot.IsHidden ? ResourceCommandState.Disabled : ResourceCommandState.Enabled;
}
