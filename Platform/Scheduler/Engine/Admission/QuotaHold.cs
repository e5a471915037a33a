using Platform.Scheduler.Limits;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Engine;

/// <summary>What <see cref="JobAdmission.Reserve"/> holds for one write: a place in the app's job count, the store quota's share.</summary>
internal readonly record struct QuotaHold(JobKey Key, bool AppPlace, StoreReservations.Reservation? Store);
