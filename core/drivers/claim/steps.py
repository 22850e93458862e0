"""The SQL a driver provides for the claim (``ClaimSteps``) and what it passes around."""

from dataclasses import dataclass, field
from datetime import datetime

from core.drivers.claim.where import Where
from core.drivers.rows import ClaimedJob


@dataclass(frozen=True)
class ClaimedBy:
    """Who claims, and for how long."""

    worker_id: str
    #: Seconds the lease lasts.
    lease: float

    def params(self, **extra) -> dict:
        """The claim statements' parameters for this claimant."""
        return {"worker": self.worker_id, "lease": self.lease, **extra}


@dataclass(frozen=True)
class QueueLimit:
    """A limited queue's row, as the claim locked it."""

    name: str
    max_concurrency: int | None
    rate_limit: int | None
    rate_period: float
    recent_starts: list[float]


@dataclass(frozen=True)
class ChannelLimit:
    """A channel policy's row, as the claim locked it."""

    name: str
    max_concurrency: int | None
    release_interval: float | None
    last_started_at: datetime | None


@dataclass(frozen=True)
class Snapshot:
    """What the claim reads before it starts: which policies there are to keep."""

    now: datetime
    paused: frozenset[str]
    limited: frozenset[str]
    channel_policies: bool
    channel_jobs: bool


@dataclass
class Claim:
    """One claim in progress: what is left to take, and what was taken."""

    limit: int
    jobs: list[ClaimedJob] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.limit - len(self.jobs)

    def add(self, jobs: list[ClaimedJob]) -> list[ClaimedJob]:
        self.jobs.extend(jobs)
        return jobs


class ClaimSteps:
    """The SQL a driver provides for the claim (see PostgresDriver, SQLiteDriver)."""

    def claim_cursor(self, transactional: bool):
        """A context manager giving the cursor of a claim, in a transaction or not."""
        raise NotImplementedError

    def snapshot(self) -> Snapshot:
        raise NotImplementedError

    def clock(self, cursor) -> datetime:
        """The time the claim's starts are recorded at (the database clock)."""
        raise NotImplementedError

    def anything_due(self, cursor, where: Where) -> bool:
        """Whether any due pending job matches ``where`` (with or without a channel)."""
        raise NotImplementedError

    def first_claim(
        self, by: ClaimedBy, where: Where, limit: int
    ) -> tuple[Snapshot, list[ClaimedJob] | None]:
        """The snapshot, and when it holds no policy to keep (no paused or limited queue,
        no channel policy, no pending job with a channel) the plain claim of ``where``
        (else None). A driver may do both in one statement."""
        snap = self.snapshot()
        if snap.paused or snap.limited or snap.channel_policies or snap.channel_jobs:
            return snap, None
        with self.claim_cursor(transactional=False) as cursor:
            return snap, self.plain_claim(cursor, by, where, limit)

    def plain_claim(self, cursor, by: ClaimedBy, where: Where, limit: int):
        """The claim without policies to keep: ``claim_where`` (a driver may check first
        that anything is due, to spare the write lock)."""
        return self.claim_where(cursor, by, where, limit)

    def claim_where(self, cursor, by: ClaimedBy, where: Where, limit: int):
        """Claim up to ``limit`` jobs matching ``where`` in run order."""
        raise NotImplementedError

    def scan_channels(self, cursor, after: str, count: int, upto: str | None = None) -> list[str]:
        """Up to ``count`` distinct channels with pending jobs, in name order after
        ``after`` (and not after ``upto``)."""
        raise NotImplementedError

    def claim_channels(
        self,
        cursor,
        by: ClaimedBy,
        where: Where,
        channels: list[str],
        per: int,
        limit: int,
    ) -> tuple[list[ClaimedJob], str | None]:
        """Up to ``per`` jobs of each channel, turn by turn, ``limit`` in all; also the
        last channel (in ``channels`` order) that got a job."""
        raise NotImplementedError

    def lock_queues(self, cursor, names: list[str]) -> list[QueueLimit]:
        """Lock the rows of these limited queues; rows another claim holds are skipped."""
        raise NotImplementedError

    def lock_channel_policies(
        self, cursor, where: Where, limit: int, after: str
    ) -> list[ChannelLimit]:
        """Lock up to ``limit`` channel policies that have due jobs matching ``where`` and
        may start one now, in name order from after ``after`` (wrapping round)."""
        raise NotImplementedError

    def running(self, cursor, column: str, names: list[str]) -> dict[str, int]:
        """Processing jobs per queue or channel (``column``)."""
        raise NotImplementedError

    def save_starts(self, cursor, starts: dict[str, list[float]]) -> None:
        raise NotImplementedError

    def mark_released(self, cursor, channels: list[str]) -> None:
        raise NotImplementedError
