"""What dashboardbench times, discovered rather than listed: every dashboard and API
route that takes no argument (from the URL configuration), the job pages, and the job
list and ``GET /api/jobs`` under every filter of the filter form, each with a sample
value from the data (a rare tag and a rare payload value included).

A route or a filter added later is timed without a change here; a filter with no
sample below is reported as such (see ``Discovery.unsampled``)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.urls import URLPattern, URLResolver, reverse

from core.api import urls as api_urls
from core.dashboard import urls as dashboard_urls
from core.insights.filters import JobFilterForm
from core.models import Job, JobStatus

#: A tag ``seed_jobs`` puts on 0.1% of the jobs (``tenant:1`` … ``tenant:10`` each are).
RARE_TAG = "tenant:3"
#: A payload value ``seed_jobs`` puts on about 0.001% of the jobs (``"customer": n`` is
#: log-uniform), and one on 7.5% of them.
RARE_CUSTOMER, COMMON_CUSTOMER = 1000, 1
#: Query values for fragments that htmx loads into a page (sent with ``HX-Request``).
FRAGMENT_HINTS = ("/counts/", "/metrics/", "/charts/", "/chart/")
#: Fields of the filter form that only refine another one (timed together with it).
COMPANIONS = {"tag_mode": "tags"}


@dataclass(frozen=True)
class Page:
    """One URL to time: what it is, where, and whether htmx would load it as a fragment."""

    label: str
    url: str
    fragment: bool = False


@dataclass
class Discovery:
    """The pages found, and what could not be timed and why."""

    pages: list[Page] = field(default_factory=list)
    #: (route or filter, why it is not timed)
    unsampled: list[tuple[str, str]] = field(default_factory=list)

    def add(self, label: str, url: str) -> None:
        """Time ``url`` under ``label`` (once, whatever the label)."""
        if all(page.url != url for page in self.pages):
            fragment = any(hint in url for hint in FRAGMENT_HINTS)
            self.pages.append(Page(label, url, fragment))


def _routes(patterns, namespace: str):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}:{entry.name}", entry


def _newest(**filters) -> Job | None:
    return Job.objects.filter(**filters).order_by("-id").first()


def _first(field_name: str, **filters):
    return (
        Job.objects.filter(**filters)
        .exclude(**{f"{field_name}__isnull": True})
        .order_by("-id")
        .values_list(field_name, flat=True)
        .first()
    )


def filter_samples(newest: Job | None) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """Per filter form field: (label, query) cases to try, the first valid one per label
    kept. Fields without an entry here are reported as unsampled."""
    if newest is None:
        return {}
    tags = next((t for t in Job.objects.exclude(tags=[]).order_by("-id").values_list(
        "tags", flat=True)[:1]), [])  # fmt: skip
    key = _first("idempotency_key")
    worker = _first("locked_by", status=JobStatus.PROCESSING)
    day = newest.created_at.date().isoformat()
    payload_forms = lambda n: [  # noqa: E731 - the syntaxes a payload filter may take
        {"payload": f'{{"customer": {n}}}'},
        {"payload": f"customer={n}"},
        {"payload": f"payload.customer={n}"},
    ]
    samples: dict[str, list[tuple[str, dict[str, str]]]] = {
        "status": [(f"status={s}", {"status": s}) for s in JobStatus.values],
        "queue": [(f"queue={newest.queue}", {"queue": newest.queue})],
        "job_type": [(f"job_type={newest.job_type}", {"job_type": newest.job_type})],
        "tags": [(f"tags={t}", {"tags": t}) for t in tags[:1]]
        + [(f"tags={RARE_TAG} (rare)", {"tags": RARE_TAG})],
        "tag_mode": [(f"tags={RARE_TAG} any", {"tags": RARE_TAG, "tag_mode": "any"})]
        + [(f"tags={t} none", {"tags": t, "tag_mode": "none"}) for t in tags[:1]],
        "since": [("since=1h", {"since": "1h"}), ("since=7d", {"since": "7d"})],
        "created_after": [(f"created_after={day}", {"created_after": f"{day}T00:00"})],
        "created_before": [(f"created_before={day}", {"created_before": f"{day}T00:00"})],
        "q": [("q=<id>", {"q": str(newest.id)})]
        + ([("q=<idempotency key>", {"q": key})] if key else [])
        + [(f"q=payload.customer={RARE_CUSTOMER}", {"q": f"payload.customer={RARE_CUSTOMER}"})],
        "payload": [(f"payload customer={RARE_CUSTOMER} (rare)", q)
                    for q in payload_forms(RARE_CUSTOMER)]
        + [(f"payload customer={COMMON_CUSTOMER} (common)", q)
           for q in payload_forms(COMMON_CUSTOMER)],
        "worker": [(f"worker={worker}", {"worker": worker})] if worker else [],
    }  # fmt: skip
    return samples


def filter_cases(newest: Job | None, unsampled: list) -> list[tuple[str, dict[str, str]]]:
    """(label, query) of one valid case per sample label, for every filter form field."""
    samples = filter_samples(newest)
    cases: list[tuple[str, dict[str, str]]] = []
    for name in JobFilterForm.base_fields:
        tried = samples.get(name)
        if not tried:
            if newest is not None:
                unsampled.append((f"filter {name}", "no sample value (add one in bench.pages)"))
            continue
        kept: set[str] = set()
        for label, query in tried:
            if label not in kept and JobFilterForm(query).is_valid():
                kept.add(label)
                cases.append((label, query))
        if not kept:
            unsampled.append((f"filter {name}", "no sample value the form accepts"))
    return cases


def _argument_samples() -> dict[str, Callable[[], list[tuple[str, object]]]]:
    def jobs():
        found = []
        for status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.PENDING):
            pk = Job.objects.filter(status=status).order_by("-id").values_list("id", flat=True)
            if pk[:1]:
                found.append((str(status), pk[0]))
        return found

    return {"pk": jobs}


def discover() -> Discovery:
    """Every page, fragment, filtered list and API list to time on this database."""
    found = Discovery()
    newest = _newest()
    arguments = _argument_samples()
    job_pks = arguments["pk"]() if newest is not None else []
    for namespace, module, prefix in (
        ("queueadmin", dashboard_urls, ""),
        ("queueadmin_api", api_urls, "api "),
    ):
        for name, pattern in _routes(module.urlpatterns, namespace):
            params = set(pattern.pattern.regex.groupindex)
            label = prefix + pattern.name
            if not params:
                found.add(label, reverse(name))
            elif params == {"pk"} and pattern.name == "job":
                for status, pk in job_pks:
                    found.add(f"{label} ({status})", reverse(name, args=[pk]))
            else:
                found.unsampled.append((name, f"takes {', '.join(sorted(params))}"))
    cases = filter_cases(newest, found.unsampled)
    jobs_url, counts_url = reverse("queueadmin:jobs"), reverse("queueadmin:job-counts")
    api_url = reverse("queueadmin_api:jobs")
    for label, query in cases:
        found.add(f"jobs, {label}", f"{jobs_url}?{urlencode(query)}")
        found.add(f"api jobs, {label}", f"{api_url}?{urlencode(query)}")
    # Each status tab under each other filter (the list a tab click shows), and the tabs.
    for label, query in cases:
        if "status" in query:
            continue
        for status in JobStatus.values:
            both = urlencode({"status": status, **query})
            found.add(f"jobs, {status} + {label}", f"{jobs_url}?{both}")
        found.add(f"tab counts, {label}", f"{counts_url}?{urlencode(query)}")
    if newest is not None:
        oldest = Job.objects.order_by("id").values_list("id", flat=True).first()
        found.add("jobs, oldest page", f"{reverse('queueadmin:jobs')}?before={oldest + 51}")
        found.add("api jobs, oldest page", f"{api_url}?cursor={oldest + 51}")
    return found
