// Each whole-app test starts DCP, the dashboard and six .NET processes; on 2 cores they run one class at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
