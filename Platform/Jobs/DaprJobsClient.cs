namespace Platform.Jobs;
