"""Round-robin across channels: each claim takes turns from the channels after this
worker's place in the rotation (a skip scan over ``job_channel_idx``)."""

import math
from dataclasses import replace

from core.drivers.claim.steps import Claim, ClaimedBy, ClaimSteps
from core.drivers.claim.where import Where
from core.drivers.rows import ClaimedJob

#: Channels visited per claim by the round-robin, beyond the claim's limit
#: (channels whose jobs are not due or not served are visited but yield none).
SCAN_EXTRA = 8
#: Most channels visited per claim.
SCAN_MAX = 500


class RoundRobin:
    """A worker's places in its channel rotations (kept between its claims): one per
    group of jobs claimed together (the free queues, each limited queue), and one
    for the channels with a policy."""

    def __init__(self) -> None:
        self.places: dict[str, str] = {}


def claim_group(
    steps: ClaimSteps,
    cursor,
    by: ClaimedBy,
    where: Where,
    claim: Claim,
    rotation: RoundRobin,
    group: str,
    channel_jobs: bool,
) -> None:
    """Fill ``claim`` from ``where``: jobs without a channel take one turn, then the
    channels after this group's place in the rotation, each an equal share.

    Channels with nothing to give (jobs not due, other queues) are passed over
    within the same claim, up to SCAN_MAX of them, so a run of idle tenants
    never makes a worker sleep while others have due jobs.
    """
    if claim.remaining <= 0:
        return
    if where.channel is not None:  # one channel asked for: no rotation to keep
        claim.add(steps.claim_where(cursor, by, where, claim.remaining))
        return
    unchanneled = replace(where, no_channel=True)
    if not channel_jobs:
        claim.add(steps.claim_where(cursor, by, unchanneled, claim.remaining))
        return
    start = rotation.places.get(group, "")
    after, wrapped, visited = start, False, 0
    share = None
    unchanneled_got: list[ClaimedJob] = []
    while claim.remaining > 0 and visited < SCAN_MAX:
        count = min(claim.remaining + SCAN_EXTRA, SCAN_MAX - visited)
        channels = steps.scan_channels(cursor, after, count, upto=start if wrapped else None)
        if not channels:
            if wrapped or not start:
                break
            wrapped, after = True, ""  # round to the first channel, up to where we began
            continue
        visited += len(channels)
        if share is None:
            share = math.ceil(claim.remaining / (min(len(channels), claim.remaining) + 1))
            unchanneled_got = claim.add(steps.claim_where(cursor, by, unchanneled, share))
            if claim.remaining <= 0:
                break
        per = math.ceil(claim.remaining / min(len(channels), claim.remaining))
        jobs, last = steps.claim_channels(cursor, by, where, channels, per, claim.remaining)
        claim.add(jobs)
        after = channels[-1]
        rotation.places[group] = last if last is not None else after
    if share is None or (claim.remaining > 0 and len(unchanneled_got) == share):
        # No channel had due jobs, or they had less than their share: jobs
        # without a channel take the rest.
        claim.add(steps.claim_where(cursor, by, unchanneled, claim.remaining))
