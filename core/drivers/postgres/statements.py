"""The PostgreSQL driver's hot statements: enqueue's inserts, outcomes, heartbeats,
reclaim, release, the running marks, a dequeue lease and a waiter's look at its job
(the claim's are in ``claim``). Each is prepared once per connection (the driver's
``execute``)."""

from core.drivers.tables import sql

_INSERT_INTO = """
INSERT INTO {Job} (job_type, queue, channel, payload, priority, run_at, max_attempts,
                   retry_delay, retry_backoff, retry_delay_max, timeout,
                   force_kill_on_timeout, tags, idempotency_key, depends_on,
                   dead_letter_job_type, lock_timeout, status, attempts, progress,
                   errors, step_data, created_at, updated_at)
"""
_ON_CONFLICT = "ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"

# No ``added`` event row in either insert: the job's ``created_at`` is that event (see
# ``core.jobs.lookup.job_events``). Each NOTIFYs the jobs' queues, delivered at commit.
# Each comes in two forms: with ON CONFLICT for jobs with an idempotency key, and
# without, which jobs without one cannot need (it costs each row a speculative insert).

# Many jobs: two JSON parameters (core.drivers.rows.insert_kinds), the kinds (a job's
# shared options, each distinct set once) and the rows ([kind, payload, key, run_at]);
# one NOTIFY per queue.
_INSERT = sql(
    f"""
WITH ins AS ({_INSERT_INTO}
    SELECT k.job_type, k.queue, k.channel, r->1, k.priority,
           coalesce((r->>3)::timestamptz, now()), k.max_attempts, k.retry_delay,
           k.retry_backoff, k.retry_delay_max, k.timeout, k.force_kill_on_timeout, k.tags,
           r->>2, k.depends_on, k.dead_letter_job_type, k.lock_timeout,
           'pending', 0, 0, '[]', '{{{{}}}}', now(), now()
      FROM jsonb_array_elements(%(rows)s::jsonb) WITH ORDINALITY AS t(r, n)
      JOIN (SELECT n - 1 AS kind, e->>0 AS job_type, e->>1 AS queue, e->>2 AS channel,
                   (e->>3)::smallint AS priority, (e->>4)::int AS max_attempts,
                   (e->>5)::float8 AS retry_delay, e->>6 AS retry_backoff,
                   (e->>7)::float8 AS retry_delay_max, (e->>8)::float8 AS timeout,
                   (e->>9)::boolean AS force_kill_on_timeout,
                   e->>10 AS dead_letter_job_type, (e->>11)::float8 AS lock_timeout,
                   e->12 AS tags, e->13 AS depends_on
              FROM jsonb_array_elements(%(kinds)s::jsonb) WITH ORDINALITY AS k(e, n)) AS k
        ON k.kind = (t.r->>0)::int
     ORDER BY t.n
    {{conflict}}
 RETURNING id, idempotency_key, run_at, created_at, queue
), wake AS (
    SELECT count(pg_notify(%(notify)s, queue)) AS n FROM (SELECT DISTINCT queue FROM ins) q
)
SELECT id, idempotency_key, run_at, created_at FROM ins, wake
"""
)
INSERT = _INSERT.format(conflict="")
INSERT_KEYED = _INSERT.format(conflict=_ON_CONFLICT)

# One job: its values as parameters, so a prepared plan serves every enqueue, and its
# NOTIFY in the RETURNING list (a CTE around the insert costs the statement a tenth).
# The fifth column is the NOTIFY's void.
_INSERT_ONE = sql(
    f"""{_INSERT_INTO}
VALUES (%(job_type)s::text, %(queue)s::text, %(channel)s::text, %(payload)s::jsonb,
        %(priority)s::smallint, coalesce(%(run_at)s::timestamptz, now()),
        %(max_attempts)s::int, %(retry_delay)s::float8, %(retry_backoff)s::text,
        %(retry_delay_max)s::float8, %(timeout)s::float8,
        %(force_kill_on_timeout)s::boolean, %(tags)s::jsonb,
        %(idempotency_key)s::text, %(depends_on)s::jsonb,
        %(dead_letter_job_type)s::text, %(lock_timeout)s::float8,
        'pending', 0, 0, '[]', '{{{{}}}}', now(), now())
{{conflict}}
RETURNING id, idempotency_key, run_at, created_at, pg_notify(%(notify)s, queue)
"""
)
INSERT_ONE = _INSERT_ONE.format(conflict="")
INSERT_ONE_KEYED = _INSERT_ONE.format(conflict=_ON_CONFLICT)

FINISH = sql(
    """
WITH v AS (
    SELECT (e->>0)::bigint AS id, e->>1 AS status, e->2 AS output,
           nullif(e->3, 'null'::jsonb) AS error, (e->>4)::float8 AS delay, e->>5 AS event,
           e->6 AS meta
      FROM jsonb_array_elements(%(rows)s::jsonb) AS e
), done AS (
    UPDATE {Job} AS j
       SET status = v.status,
           output = CASE WHEN v.status = 'completed' THEN v.output ELSE j.output END,
           progress = CASE WHEN v.status = 'completed' THEN 100 ELSE j.progress END,
           errors = CASE WHEN v.error IS NULL THEN j.errors
                         ELSE j.errors || jsonb_build_array(v.error) END,
           run_at = CASE WHEN v.status = 'pending'
                         THEN now() + v.delay * interval '1 second' ELSE j.run_at END,
           completed_at = CASE WHEN v.status = 'completed' THEN now() ELSE j.completed_at END,
           failed_at = CASE WHEN v.status = 'failed' THEN now() ELSE j.failed_at END,
           locked_by = NULL, locked_until = NULL, updated_at = now()
      FROM v
     -- "|| ''" keeps the planner off the status indexes, whose estimates lag behind
     -- the churn: walk the batch, look each job up by its id.
     WHERE j.id = v.id AND j.status || '' = 'processing' AND j.locked_by = %(worker)s
 RETURNING j.id, j.queue, j.status, v.event, v.meta
), told AS (
    -- One notification per job on the events channel, delivered with the commit: the
    -- JSON {"id", "queue", "event", "status"} written out (half json_build_object's cost).
    SELECT count(pg_notify(%(events)s, '{"id":' || id || ',"queue":' || to_json(queue)::text
                           || ',"event":"' || event || '","status":"' || status || '"}')) AS n
      FROM done
)
INSERT INTO {JobEvent} (job_id, type, at, metadata)
SELECT id, event, now(), meta FROM done, told
RETURNING job_id
"""
)

HEARTBEAT = sql(
    """
WITH w AS (
    UPDATE {Worker} SET heartbeat_at = now(), running = %(running)s,
                           processed = %(processed)s, completed = %(completed)s,
                           failed = %(failed)s, state = %(state)s, idle = %(idle)s,
                           ping_ms = %(ping_ms)s, stuck = %(stuck)s::jsonb
     WHERE id = %(worker)s
 RETURNING "order", ordered_by
), renewed AS (
    -- Rows the worker's completer or starter holds right now are skipped, not waited
    -- for (waiting is how the three deadlocked under load): they are being finished,
    -- or were claimed or renewed moments ago, and the next heartbeat renews them.
    UPDATE {Job} SET locked_until = now() + coalesce(lock_timeout, %(lease)s)
                                             * interval '1 second',
                     seen_running_at = CASE WHEN id = ANY(%(running_ids)s)
                                            THEN coalesce(seen_running_at, now()) END
     WHERE id IN (SELECT id FROM {Job}
                   WHERE id = ANY(%(ids)s) AND locked_by = %(worker)s
                     AND status = 'processing'
                   FOR UPDATE SKIP LOCKED)
)
-- The worker's order comes back as the row whose id is NULL.
SELECT NULL::bigint, "order", ordered_by FROM w
UNION ALL
SELECT id, NULL, NULL FROM {Job} WHERE id = ANY(%(ids)s) AND status = 'cancelled'
"""
)

RECLAIM = sql(
    """
WITH lost AS (
    -- A job its worker had reported running pays the attempt (failed when they are used
    -- up, with a worker_lost error). Any other gets it back and counts a loss, so its
    -- next worker records its start first: a job that kills its worker is caught.
    UPDATE {Job} AS j
       SET status = CASE WHEN x.running AND j.attempts >= j.max_attempts
                         THEN 'failed' ELSE 'pending' END,
           failed_at = CASE WHEN x.running AND j.attempts >= j.max_attempts
                            THEN now() ELSE j.failed_at END,
           run_at = CASE WHEN x.running AND j.attempts >= j.max_attempts
                         THEN j.run_at ELSE now() END,
           attempts = CASE WHEN x.running THEN j.attempts ELSE greatest(j.attempts - 1, 0) END,
           lost_count = j.lost_count + CASE WHEN x.running THEN 0 ELSE 1 END,
           errors = CASE WHEN NOT x.running THEN j.errors
                         ELSE j.errors || jsonb_build_array(jsonb_build_object(
               'attempt', j.attempts, 'at', now(), 'type', 'WorkerLost',
               'message', 'lease expired: worker ' || coalesce(j.locked_by, '?')
                          || ' stopped renewing it',
               'traceback', '', 'reason', 'worker_lost')) END,
           seen_running_at = NULL, locked_by = NULL, locked_until = NULL, updated_at = now()
      FROM (SELECT id, seen_running_at IS NOT NULL AS running FROM {Job}
             WHERE status = 'processing' AND locked_until < now()
             ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED) AS x
     WHERE j.id = x.id
 RETURNING j.id, j.status, j.attempts, x.running, j.queue
), told AS (
    -- Jobs failed for good are announced on the events channel (see FINISH).
    SELECT count(pg_notify(%(events)s, '{"id":' || id || ',"queue":' || to_json(queue)::text
                           || ',"event":"failed","status":"failed"}')) AS n
      FROM lost WHERE status = 'failed'
), events AS (
    INSERT INTO {JobEvent} (job_id, type, at, metadata)
    SELECT id, 'reclaimed', now(),
           jsonb_build_object('status', status, 'attempt', attempts, 'reason', 'lease expired',
                              'running', running)
      FROM lost
)
SELECT id, status FROM lost, told
"""
)

RELEASE = sql(
    """
WITH released AS (
    UPDATE {Job}
       SET status = 'pending', attempts = greatest(attempts - 1, 0), run_at = now(),
           seen_running_at = NULL,
           locked_by = NULL, locked_until = NULL, updated_at = now()
     WHERE id = ANY(%(ids)s) AND locked_by = %(worker)s AND status = 'processing'
 RETURNING id
)
INSERT INTO {JobEvent} (job_id, type, at, metadata)
SELECT id, 'reclaimed', now(), jsonb_build_object('reason', 'worker shutdown',
                                                  'worker', %(worker)s::text)
  FROM released
"""
)


# Async commit: the worker waits for this before running a job whose last worker was
# lost; a mark lost with a crash of the database itself only spares it an attempt.
MARK_RUNNING = sql(
    """
WITH async AS (SELECT set_config('synchronous_commit', 'off', true)), ended AS (
    -- The worker's completer may be writing these outcomes now: skip the rows it
    -- holds (their status is about to change anyway) rather than wait for them, and
    -- lock the starts in id order, so that this statement, the completer's and the
    -- heartbeat's (which waits for nothing) never deadlock.
    UPDATE {Job} SET seen_running_at = NULL
     WHERE id IN (SELECT id FROM {Job}
                   WHERE id = ANY(%(ended)s) AND locked_by = %(worker)s
                     AND status = 'processing'
                   ORDER BY id FOR UPDATE SKIP LOCKED)
)
UPDATE {Job} SET seen_running_at = now()
  FROM async
 WHERE id IN (SELECT id FROM {Job}
               WHERE id = ANY(%(ids)s) AND locked_by = %(worker)s AND status = 'processing'
               ORDER BY id FOR UPDATE)
RETURNING id
"""
)

#: A waiter's look at its job (core.jobs.replies).
JOB_STATE = sql("SELECT status, output FROM {Job} WHERE id = %(id)s")

# A lease taken or renewed by the application's own loop (core.jobs.dequeue).
HOLD = sql(
    """
UPDATE {Job}
   SET locked_until = now() + coalesce(%(lock)s::float8, lock_timeout, %(lease)s::float8)
                              * interval '1 second',
       seen_running_at = coalesce(seen_running_at, now())
 WHERE id = ANY(%(ids)s) AND locked_by = %(owner)s AND status = 'processing'
RETURNING id, locked_until, state
"""
)

#: Move a partition's next offset on by n; returns the new next offset.
RESERVE_OFFSETS = sql(
    """
UPDATE {Partition} SET next_offset = next_offset + %s
 WHERE topic_id = %s AND number = %s
RETURNING next_offset
"""
)
