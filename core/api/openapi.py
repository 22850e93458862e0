"""The API's OpenAPI 3.1 description, served at /api/openapi.json."""

from typing import Any

from core.api.params import MAX_ID, MAX_PAGE_SIZE, PAGE_SIZE
from core.drivers.rows import TAG_MODES
from core.insights.filters import SINCE
from core.jobs.contents import MAX_JSON, MAX_PATH
from core.models import JobStatus, RetryBackoff, TokenStatus

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]*$"
_DATETIME = {"type": "string", "format": "date-time"}
_NULL_DATETIME = {"type": ["string", "null"], "format": "date-time"}
_ANY = {"description": "any JSON value"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


_ERRORS = {
    "400": _error("Bad input; the message says which field and why."),
    "401": _error("No API key or session, or an unknown, revoked or expired key."),
    "403": _error("Authenticated but not allowed (read-only key, missing permission, CSRF)."),
    "404": _error("No such job, token or status."),
    "405": _error("Method not allowed; the Allow header lists those that are."),
}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: _ERRORS[code] for code in codes}


_JOB_ID = {
    "name": "pk",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}

_JOB_PROPERTIES = {
    "id": {"type": "integer"},
    "job_type": {"type": "string"},
    "queue": {"type": "string"},
    "channel": {"type": ["string", "null"]},
    "status": {"type": "string", "enum": JobStatus.values},
    "priority": {"type": "integer"},
    "payload": _ANY,
    "output": _ANY,
    "progress": {"type": "integer", "minimum": 0, "maximum": 100},
    "attempts": {"type": "integer"},
    "max_attempts": {"type": "integer"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "idempotency_key": {"type": ["string", "null"]},
    "depends_on": {"type": "array", "items": {"type": "integer"}},
    "run_at": _DATETIME,
    "wait_until": _NULL_DATETIME,
    "created_at": _DATETIME,
    "updated_at": _DATETIME,
    "started_at": _NULL_DATETIME,
    "completed_at": _NULL_DATETIME,
    "failed_at": _NULL_DATETIME,
    "cancelled_at": _NULL_DATETIME,
    "status_url": {
        "type": "string",
        "description": "The job's signed public status URL (GET /api/status/{ref}).",
    },
    "last_error": {
        "type": ["object", "null"],
        "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
    },
}

#: A duration: seconds, or text read by core.durations.parse_duration.
_DURATION = {
    "type": ["number", "string"],
    "minimum": 0,
    "description": 'Seconds, or a duration such as "500ms", "15m", "48h", "7d", "2w" or "1h30m".',
}

_ENQUEUE_PROPERTIES = {
    "job_type": {"type": "string", "minLength": 1, "maxLength": 200},
    "payload": _ANY,
    "queue": {"type": "string", "maxLength": 100, "pattern": NAME_PATTERN},
    "channel": {"type": ["string", "null"], "maxLength": 200, "pattern": NAME_PATTERN},
    "priority": {"type": "integer", "minimum": -100, "maximum": 100},
    "run_at": {**_NULL_DATETIME, "description": "When it becomes due; give a UTC offset."},
    "delay": {**_DURATION, "description": f"From now. {_DURATION['description']}"},
    "max_attempts": {"type": "integer", "minimum": 1, "maximum": 1000},
    "retry_delay": _DURATION,
    "retry_backoff": {"type": "string", "enum": RetryBackoff.values},
    "retry_delay_max": _DURATION,
    "timeout": {
        "type": ["number", "string"],
        "exclusiveMinimum": 0,
        "description": _DURATION["description"],
    },
    "force_kill_on_timeout": {"type": "boolean"},
    "lock_timeout": {
        "type": ["number", "string"],
        "exclusiveMinimum": 0,
        "description": "How long each lease of the job lasts (runworker and dequeue). "
        + _DURATION["description"],
    },
    "tags": {
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": 100},
    },
    "idempotency_key": {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
    "depends_on": {"type": "array", "items": {"type": "integer", "minimum": 1}},
    "dead_letter_job_type": {"type": ["string", "null"], "minLength": 1, "maxLength": 200},
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """An enqueue option: null means "the default", as in core.queue.enqueue."""
    kind = schema.get("type")
    if kind is None or (isinstance(kind, list) and "null" in kind):
        return schema
    nullable = {**schema, "type": [kind, "null"] if isinstance(kind, str) else [*kind, "null"]}
    if "enum" in schema:
        nullable["enum"] = [*schema["enum"], None]
    return nullable


_ENQUEUE_PROPERTIES = {
    name: schema if name == "job_type" else _nullable(schema)
    for name, schema in _ENQUEUE_PROPERTIES.items()
}

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["status", "message"],
                "properties": {"status": {"type": "integer"}, "message": {"type": "string"}},
            }
        },
    },
    "Job": {"type": "object", "required": list(_JOB_PROPERTIES), "properties": _JOB_PROPERTIES},
    "JobDetail": {
        "allOf": [
            _ref("Job"),
            {
                "type": "object",
                "required": ["errors"],
                "properties": {
                    "errors": {
                        "type": "array",
                        "description": "One entry per failed attempt, with its traceback.",
                        "items": {"type": "object"},
                    }
                },
            },
        ]
    },
    "JobPage": {
        "type": "object",
        "required": ["jobs", "next_cursor"],
        "properties": {
            "jobs": {"type": "array", "items": _ref("Job")},
            "next_cursor": {
                "type": ["integer", "null"],
                "description": "Pass as ?cursor= for the next (older) page; null on the last.",
            },
        },
    },
    "Enqueue": {
        "type": "object",
        "required": ["job_type"],
        "additionalProperties": False,
        "properties": _ENQUEUE_PROPERTIES,
    },
    "Enqueued": {
        "allOf": [
            _ref("Job"),
            {
                "type": "object",
                "required": ["deduplicated"],
                "properties": {"deduplicated": {"type": "boolean"}},
            },
        ]
    },
    "Status": {
        "type": "object",
        "required": ["status", "progress", "output", "error", "updated_at", "finished"],
        "properties": {
            "status": {"type": "string", "enum": JobStatus.values},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "output": _ANY,
            "error": {"type": ["string", "null"]},
            "updated_at": _DATETIME,
            "finished": {"type": "boolean"},
        },
    },
    "Health": {
        "type": "object",
        "required": ["ok", "checks"],
        "properties": {
            "ok": {"type": "boolean"},
            "checks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "ok", "message", "numbers"],
                    "properties": {
                        "name": {"type": "string"},
                        "ok": {"type": "boolean"},
                        "message": {"type": "string"},
                        "numbers": {
                            "type": "object",
                            "additionalProperties": {"type": ["number", "null"]},
                        },
                    },
                },
            },
        },
    },
    "Token": {
        "type": "object",
        "required": ["id", "job_id", "status", "output", "timeout_at", "tags", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "job_id": {"type": "integer"},
            "status": {"type": "string", "enum": TokenStatus.values},
            "output": _ANY,
            "timeout_at": _NULL_DATETIME,
            "tags": {"type": "array", "items": {"type": "string"}},
            "created_at": _DATETIME,
            "completed_at": _NULL_DATETIME,
        },
    },
}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_LIST_PARAMETERS = [
    _query("status", {"type": "string", "enum": JobStatus.values}, "Only jobs in this status."),
    _query("queue", {"type": "string", "maxLength": 100}, "Only jobs of this queue."),
    _query("job_type", {"type": "string", "maxLength": 200}, "Only jobs of this type."),
    _query("tags", {"type": "string", "maxLength": 500}, "Comma-separated tags."),
    _query("tag_mode", {"type": "string", "enum": list(TAG_MODES)}, "How tags match (all)."),
    _query("since", {"type": "string", "enum": list(SINCE)}, "Created within this range."),
    _query("created_after", _DATETIME, "Created at or after."),
    _query("created_before", _DATETIME, "Created before."),
    _query(
        "q",
        {"type": "string", "maxLength": 1000},
        "A job id (42 or #42) or idempotency key, or search terms: payload.customer.id=42, "
        'payload:{"customer":42} (also output and errors), error:text, worker:id.',
    ),
    _query(
        "payload",
        {"type": "string", "maxLength": MAX_JSON, "contentMediaType": "application/json"},
        'A JSON object the payload contains, e.g. {"customer":{"id":42}} (URL-encoded); '
        "nested objects and arrays by containment, scalars by JSON type and value.",
    ),
    _query(
        "output",
        {"type": "string", "maxLength": MAX_JSON, "contentMediaType": "application/json"},
        "A JSON object the output contains.",
    ),
    _query(
        "errors",
        {"type": "string", "maxLength": MAX_JSON, "contentMediaType": "application/json"},
        'A JSON object one recorded error contains, e.g. {"type":"TimeoutError"}.',
    ),
    _query(
        "error",
        {"type": "string", "maxLength": MAX_PATH},
        "Text in the latest error message (ASCII case ignored).",
    ),
    _query(
        "worker",
        {"type": "string", "maxLength": 200},
        "Processing jobs held by this worker (its id, as on the Workers page).",
    ),
    {
        **_query(
            "paths",
            {
                "type": "object",
                "propertyNames": {"pattern": r"^(payload|output|errors)\.[^.]+(\.[^.]+)*$"},
                "additionalProperties": {"type": "string"},
            },
            "Key paths with values, one parameter each: payload.customer.id=42 matches a "
            'payload holding {"customer": {"id": 42}}. The value is JSON when it reads as '
            'JSON (42, true, "42"), text otherwise; errors.type=… matches one recorded error.',
        ),
        "style": "form",
        "explode": True,
    },
    _query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": PAGE_SIZE},
        "Jobs per page.",
    ),
    _query(
        "cursor",
        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        "next_cursor of the previous page: jobs with a smaller id.",
    ),
]

_AUTH = [{"bearer": []}, {"session": []}]


def _paths() -> dict[str, Any]:
    job_action = {
        "security": _AUTH,
        "parameters": [_JOB_ID],
        "responses": {
            "200": _json(_ref("JobDetail"), "The job after the change."),
            **_errors("400", "401", "403", "404", "405"),
            "409": _error("The job's status does not allow it."),
        },
    }
    return {
        "/jobs": {
            "get": {
                "operationId": "listJobs",
                "summary": "Jobs matching the dashboard's filters, newest first (keyset pages).",
                "security": _AUTH,
                "parameters": _LIST_PARAMETERS,
                "responses": {
                    "200": _json(_ref("JobPage"), "A page of jobs."),
                    **_errors("400", "401", "403", "405"),
                },
            },
            "post": {
                "operationId": "enqueueJob",
                "summary": (
                    "Enqueue a job (a read-write API key, or staff with queueadmin.add_job)."
                ),
                "security": _AUTH,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("Enqueue")}},
                },
                "responses": {
                    "201": _json(_ref("Enqueued"), "Enqueued."),
                    "200": _json(
                        _ref("Enqueued"), "A job with this idempotency key existed; it is returned."
                    ),
                    **_errors("400", "401", "403", "405"),
                    "413": _error("The body is too large."),
                    "415": _error("The body is not JSON."),
                },
            },
        },
        "/jobs/{pk}": {
            "get": {
                "operationId": "getJob",
                "summary": "One job, with every attempt's error.",
                "security": _AUTH,
                "parameters": [_JOB_ID],
                "responses": {
                    "200": _json(_ref("JobDetail"), "The job."),
                    **_errors("401", "403", "404", "405"),
                },
            }
        },
        "/jobs/{pk}/retry": {
            "post": {
                **job_action,
                "operationId": "retryJob",
                "summary": "Run a failed, cancelled or completed job again now.",
            }
        },
        "/jobs/{pk}/cancel": {
            "post": {
                **job_action,
                "operationId": "cancelJob",
                "summary": "Cancel a pending, waiting or processing job.",
            }
        },
        "/tokens/{token_id}/complete": {
            "post": {
                "operationId": "completeToken",
                "summary": "Complete a waiting token; its job wakes with the output.",
                "security": _AUTH,
                "parameters": [
                    {
                        "name": "token_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1},
                    }
                ],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {"output": _ANY},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["token"],
                            "properties": {"token": _ref("Token")},
                        },
                        "Completed; the job is waking.",
                    ),
                    **_errors("400", "401", "403", "404", "405"),
                    "409": _error("The token is already completed or timed out."),
                    "415": _error("The body is not JSON."),
                },
            }
        },
        "/status/{ref}": {
            "get": {
                "operationId": "jobStatus",
                "summary": "A job's progress, for the page of the user it works for. No login: "
                "the signed reference (from job.status_url) is the permission.",
                "security": [],
                "parameters": [
                    {"name": "ref", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": _json(_ref("Status"), "The job's status."),
                    **_errors("404", "405"),
                },
            }
        },
        "/health": {
            "get": {
                "operationId": "health",
                "summary": "The health checks (database, migrations, workers per queue, oldest "
                "due job, maintenance, stuck threads). No login: the body holds only check "
                "names, counts and ages. Never cached.",
                "security": [],
                "responses": {
                    "200": _json(_ref("Health"), "Every check passed."),
                    "503": _json(_ref("Health"), "At least one check failed."),
                    **_errors("405"),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics (text exposition format 0.0.4).",
                "security": _AUTH,
                "responses": {
                    "200": {
                        "description": "Metrics.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_errors("401", "403", "405"),
                },
            }
        },
    }


def document(api_root: str) -> dict[str, Any]:
    """The OpenAPI document; ``api_root`` is the API's absolute URL (where the paths start),
    wherever the project mounts it."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "queueadmin API",
            "version": "1",
            "description": "Jobs, tokens, public job status, health and metrics. Send an API key "
            "as 'Authorization: Bearer <key>' (create one in the dashboard's API keys page), or "
            "use a staff session (writes then need the CSRF token). Every error is JSON: "
            '{"error": {"status": …, "message": …}}.',
        },
        "servers": [{"url": api_root.rstrip("/")}],
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API key."},
                "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
            },
        },
        "paths": _paths(),
    }
