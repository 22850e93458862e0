"""The SQLite driver's statements: enqueue's insert, outcomes and their events,
heartbeats, reclaim, release, the running marks and a dequeue lease (the claim's are
in ``claim``)."""

from core.drivers.tables import sql

#: Move a partition's next offset on by n; returns the new next offset.
RESERVE_OFFSETS = sql(
    """
UPDATE {Partition} SET next_offset = next_offset + %s
 WHERE topic_id = %s AND number = %s
RETURNING next_offset
"""
)

# Enqueue: two JSON parameters (core.drivers.rows.insert_kinds), the kinds (a job's
# shared options, each distinct set once, read into a table first) and the rows
# ([kind, payload, key, run_at]); ON CONFLICT only for jobs with an idempotency key
# ("WHERE true" lets SQLite's parser take it after a SELECT).
_INSERT = sql(
    """
WITH kind AS MATERIALIZED (
    SELECT key AS kind, value ->> 0 AS job_type, value ->> 1 AS queue,
           value ->> 2 AS channel, value ->> 3 AS priority, value ->> 4 AS max_attempts,
           value ->> 5 AS retry_delay, value ->> 6 AS retry_backoff,
           value ->> 7 AS retry_delay_max, value ->> 8 AS timeout,
           value ->> 9 AS force_kill_on_timeout, value ->> 10 AS dead_letter_job_type,
           value ->> 11 AS lock_timeout, value -> 12 AS tags, value -> 13 AS depends_on
      FROM json_each(%s)
)
INSERT INTO {Job} (job_type, queue, channel, payload, priority, run_at, max_attempts,
                      retry_delay, retry_backoff, retry_delay_max, timeout,
                      force_kill_on_timeout, tags, idempotency_key, depends_on,
                      dead_letter_job_type, lock_timeout, status, attempts, progress,
                      errors, step_data, created_at, updated_at)
SELECT k.job_type, k.queue, k.channel, r.value -> 1, k.priority, r.value ->> 3,
       k.max_attempts, k.retry_delay, k.retry_backoff, k.retry_delay_max, k.timeout,
       k.force_kill_on_timeout, k.tags, r.value ->> 2, k.depends_on,
       k.dead_letter_job_type, k.lock_timeout, 'pending', 0, 0, '[]', '{{}}', %s, %s
  FROM json_each(%s) AS r JOIN kind AS k ON k.kind = r.value ->> 0
 WHERE true
 ORDER BY r.key
{conflict}
RETURNING id, idempotency_key
"""
)
INSERT = _INSERT.format(conflict="")
INSERT_KEYED = _INSERT.format(
    conflict="    ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
)

FINISH = sql(
    """
UPDATE {Job}
   SET status = v.status,
       output = CASE WHEN v.status = 'completed' THEN v.output ELSE {Job}.output END,
       progress = CASE WHEN v.status = 'completed' THEN 100 ELSE {Job}.progress END,
       errors = CASE WHEN v.error IS NULL THEN {Job}.errors
                     ELSE json_insert({Job}.errors, '$[#]', json(v.error)) END,
       run_at = CASE WHEN v.status = 'pending' THEN v.run_at ELSE {Job}.run_at END,
       completed_at = CASE WHEN v.status = 'completed' THEN %s ELSE {Job}.completed_at END,
       failed_at = CASE WHEN v.status = 'failed' THEN %s ELSE {Job}.failed_at END,
       locked_by = NULL, locked_until = NULL, updated_at = %s
  FROM (SELECT value ->> 0 AS id, value ->> 1 AS status, value ->> 2 AS output,
               value ->> 3 AS error, value ->> 4 AS run_at
          FROM json_each(%s)) AS v
 -- "+" keeps SQLite off the status index: walk the batch, look jobs up by id.
 WHERE {Job}.id = v.id AND +{Job}.status = 'processing' AND {Job}.locked_by = %s
RETURNING {Job}.id
"""
)

INSERT_EVENTS = sql(
    """
INSERT INTO {JobEvent} (job_id, type, at, metadata)
SELECT value ->> 0, value ->> 1, %s, value ->> 2 FROM json_each(%s)
"""
)

HEARTBEAT_WORKER = sql(
    """
UPDATE {Worker} SET heartbeat_at = %s, running = %s, processed = %s, completed = %s,
                       failed = %s, state = %s, idle = %s, ping_ms = %s, stuck = %s
 WHERE id = %s
RETURNING "order", ordered_by
"""
)
HEARTBEAT_JOBS = sql(
    """
UPDATE {Job}
   SET locked_until = CASE WHEN lock_timeout IS NULL THEN %s
                           ELSE strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s,
                                         '+' || lock_timeout || ' seconds') END,
       seen_running_at = CASE WHEN id IN (SELECT value FROM json_each(%s))
                              THEN coalesce(seen_running_at, %s) END
 WHERE id IN (SELECT value FROM json_each(%s)) AND locked_by = %s AND status = 'processing'
"""
)
CANCELLED = sql(
    """
SELECT id FROM {Job} WHERE status = 'cancelled' AND id IN (SELECT value FROM json_each(%s))
"""
)

RECLAIM = sql(
    """
UPDATE {Job}
   -- A job its worker had reported running pays the attempt (failed when they are used
   -- up, with a worker_lost error). Any other gets it back and counts a loss, so its
   -- next worker records its start first: a job that kills its worker is caught.
   SET status = CASE WHEN {running} AND attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
       failed_at = CASE WHEN {running} AND attempts >= max_attempts
                        THEN %(now)s ELSE failed_at END,
       run_at = CASE WHEN {running} AND attempts >= max_attempts THEN run_at ELSE %(now)s END,
       attempts = CASE WHEN {running} THEN attempts ELSE max(attempts - 1, 0) END,
       lost_count = lost_count + CASE WHEN {running} THEN 0 ELSE 1 END,
       errors = CASE WHEN NOT {running} THEN errors
                     ELSE json_insert(errors, '$[#]', json_object(
           'attempt', attempts, 'at', %(now)s, 'type', 'WorkerLost',
           'message', 'lease expired: worker ' || coalesce(locked_by, '?')
                      || ' stopped renewing it',
           'traceback', '', 'reason', 'worker_lost')) END,
       seen_running_at = NULL, locked_by = NULL, locked_until = NULL, updated_at = %(now)s
 WHERE id IN (SELECT value FROM json_each(%(ids)s))
RETURNING id, status, attempts
""".replace("{running}", "(seen_running_at IS NOT NULL)")
)
#: The jobs to reclaim, and whether their workers had reported them running.
EXPIRED = sql(
    """
SELECT id, seen_running_at IS NOT NULL FROM {Job}
 WHERE status = 'processing' AND locked_until < %(now)s ORDER BY id LIMIT 1000
"""
)

RELEASE = sql(
    """
UPDATE {Job}
   SET status = 'pending', attempts = max(attempts - 1, 0), run_at = %s,
       seen_running_at = NULL,
       locked_by = NULL, locked_until = NULL, updated_at = %s
 WHERE id IN (SELECT value FROM json_each(%s)) AND locked_by = %s AND status = 'processing'
RETURNING id
"""
)

# A lease taken or renewed by the application's own loop (core.jobs.dequeue).
HOLD = sql(
    """
UPDATE {Job}
   SET locked_until = strftime('%%Y-%%m-%%d %%H:%%M:%%f', %(now)s,
                               '+' || coalesce(%(lock)s, lock_timeout, %(lease)s) || ' seconds'),
       seen_running_at = coalesce(seen_running_at, %(now)s)
 WHERE id IN (SELECT value FROM json_each(%(ids)s)) AND locked_by = %(owner)s
   AND status = 'processing'
RETURNING id, locked_until, state
"""
)

MARK_RUNNING = sql(
    """
UPDATE {Job} SET seen_running_at = %s
 WHERE id IN (SELECT value FROM json_each(%s)) AND locked_by = %s AND status = 'processing'
RETURNING id
"""
)
MARK_ENDED = sql(
    """
UPDATE {Job} SET seen_running_at = NULL
 WHERE id IN (SELECT value FROM json_each(%s)) AND locked_by = %s AND status = 'processing'
"""
)
