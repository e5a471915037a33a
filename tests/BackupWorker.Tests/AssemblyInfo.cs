// The integration tests start real processes (scheduler, sidecars, apps, PostgreSQL) and time triggers; on a 2-core
// CI machine running them one class at a time keeps trigger timing honest.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
