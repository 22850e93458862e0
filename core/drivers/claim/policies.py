"""The claim under queue and channel policies, phase by phase, in one transaction.

1. Limited queues this worker serves: lock their rows, count their running jobs,
   and compute what each may still start (max concurrency, rate window).
2. Channels with a policy: lock the rows of those that may start a job now and
   take at most what each policy allows.
3. Limited queues' own jobs, round-robin across their channels, within their room.
4. Everything else, round-robin.
5. Record the limited queues' starts (the sliding rate window).
"""

from dataclasses import dataclass, field, replace

from core.drivers.claim.limits import channel_allowance, epoch, queue_allowance
from core.drivers.claim.rotation import RoundRobin, claim_group
from core.drivers.claim.steps import Claim, ClaimedBy, ClaimSteps, QueueLimit, Snapshot
from core.drivers.claim.where import Where
from core.drivers.rows import ClaimedJob

#: The rotation's place among the channels with a policy.
POLICIES = "policies"


@dataclass
class PolicyClaim:
    """One claim under policies: the transaction's cursor, what is left, what was taken."""

    steps: ClaimSteps
    cursor: object
    rotation: RoundRobin
    snap: Snapshot
    by: ClaimedBy
    #: Which jobs this worker may take at all (its queues and job types).
    base: Where
    #: Paused and limited queues, left out of the free claim.
    blocked: tuple[str, ...]
    result: Claim
    #: What each locked limited queue may still start.
    allowances: dict[str, int] = field(default_factory=dict)
    #: Each limited queue's starts to keep (its rate window).
    windows: dict[str, list[float]] = field(default_factory=dict)
    limits: dict[str, QueueLimit] = field(default_factory=dict)
    #: Jobs started per limited queue by this claim.
    started: dict[str, int] = field(default_factory=dict)

    def _claim(self, where: Where, limit: int) -> list[ClaimedJob]:
        return self.result.add(self.steps.claim_where(self.cursor, self.by, where, limit))

    def _taken(self, jobs: list[ClaimedJob]) -> None:
        for job in jobs:
            if job.queue in self.allowances:
                self.allowances[job.queue] -= 1
                self.started[job.queue] = self.started.get(job.queue, 0) + 1

    def lock_limited_queues(self, served: tuple[str, ...] | None) -> None:
        """Phase 1: what each limited queue this worker serves may still start."""
        snap = self.snap
        limited = [q for q in sorted(snap.limited - snap.paused) if served is None or q in served]
        rows = self.steps.lock_queues(self.cursor, limited) if limited else []
        running = self.steps.running(self.cursor, "queue", [r.name for r in rows]) if rows else {}
        for row in rows:
            self.allowances[row.name], self.windows[row.name] = queue_allowance(
                row, running.get(row.name, 0), snap.now
            )
            self.limits[row.name] = row

    def claim_policy_channels(self) -> None:
        """Phase 2: channels with a policy, in free queues or limited ones with room."""
        paused = tuple(sorted(self.snap.paused))
        policies = self.steps.lock_channel_policies(
            self.cursor,
            replace(self.base, exclude_queues=paused, skip_policy_channels=False),
            self.result.limit,
            self.rotation.places.get(POLICIES, ""),
        )
        if not policies:
            return
        self.rotation.places[POLICIES] = policies[-1].name
        if self.base.channel is not None:  # one channel asked for
            policies = [p for p in policies if p.name == self.base.channel]
        busy = self.steps.running(self.cursor, "channel", [p.name for p in policies])
        released = []
        for policy in policies:
            allow = channel_allowance(policy, busy.get(policy.name, 0), self.snap.now)
            if self._claim_channel(policy.name, min(allow, self.result.remaining)):
                released.append(policy.name)
        if released:
            self.steps.mark_released(self.cursor, released)

    def _claim_channel(self, channel: str, allow: int) -> bool:
        """Up to ``allow`` jobs of one policy channel; True if any was taken."""
        if allow <= 0:
            return False
        free = replace(
            self.base,
            exclude_queues=self.blocked,
            skip_policy_channels=False,
            skip_restricted_queues=True,
            channel=channel,
        )
        got = len(self._claim(free, allow))
        for queue in sorted(q for q, room in self.allowances.items() if room > 0):
            if got >= allow:
                break
            only = replace(self.base, queues=(queue,), channel=channel, skip_policy_channels=False)
            more = self._claim(only, min(allow - got, self.allowances[queue]))
            self._taken(more)
            got += len(more)
        return got > 0

    def claim_limited_queues(self) -> None:
        """Phase 3: limited queues' own jobs, round-robin across their channels."""
        for name in sorted(self.allowances):
            room = min(self.allowances[name], self.result.remaining)
            if room <= 0:
                continue
            part = Claim(room)
            self._group(replace(self.base, queues=(name,)), part, f"queue:{name}")
            self._taken(self.result.add(part.jobs))

    def claim_the_rest(self) -> None:
        """Phase 4: every other queue, round-robin across channels."""
        rest = replace(self.base, exclude_queues=self.blocked, skip_restricted_queues=True)
        self._group(rest, self.result, "")

    def _group(self, where: Where, claim: Claim, group: str) -> None:
        claim_group(
            self.steps,
            self.cursor,
            self.by,
            where,
            claim,
            self.rotation,
            group,
            self.snap.channel_jobs,
        )

    def save_starts(self) -> None:
        """Phase 5: the limited queues' start windows, where they changed."""
        if not (self.started or self.windows):
            return
        now = epoch(self.snap.now)
        starts = {}
        for name, window in self.windows.items():
            if self.started.get(name) or window != self.limits[name].recent_starts:
                limited = self.limits[name].rate_limit is not None
                starts[name] = window + [now] * self.started.get(name, 0) if limited else []
        self.steps.save_starts(self.cursor, starts)


def claim_with_policies(
    steps: ClaimSteps,
    cursor,
    rotation: RoundRobin,
    snap: Snapshot,
    by: ClaimedBy,
    served: tuple[str, ...] | None,
    base: Where,
    blocked: tuple[str, ...],
    limit: int,
) -> list[ClaimedJob]:
    """Claim up to ``limit`` jobs inside the caller's transaction, phase by phase."""
    snap = replace(snap, now=steps.clock(cursor))
    run = PolicyClaim(
        steps=steps,
        cursor=cursor,
        rotation=rotation,
        snap=snap,
        by=by,
        base=replace(base, skip_policy_channels=snap.channel_policies),
        blocked=blocked,
        result=Claim(limit),
    )
    run.lock_limited_queues(served)
    if snap.channel_policies:
        run.claim_policy_channels()
    run.claim_limited_queues()
    run.claim_the_rest()
    run.save_starts()
    return run.result.jobs
