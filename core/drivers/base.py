"""What every database driver provides."""

from django.db.models import Q

#: How a tag filter matches a job's tags.
TAG_MODES = ("exact", "all", "any", "none")


class Driver:
    """Vendor-specific queries behind the queue API."""

    #: Name of the Django database vendor this driver serves.
    vendor = ""

    def __init__(self, using: str = "default") -> None:
        self.using = using

    def tags_filter(self, tags: list[str], mode: str) -> Q:
        """Return a filter on ``Job.tags`` for ``tags`` under ``mode`` (see TAG_MODES).

        exact: the job's tags are exactly this set; all: it has every one;
        any: it has at least one; none: it has none of them.
        """
        if mode not in TAG_MODES:
            raise ValueError(f"tag mode must be one of {', '.join(TAG_MODES)}, not {mode!r}")
        if not tags and mode != "exact":
            # Every job has all of no tags and none of them; no job has any of them.
            return Q(pk__in=[]) if mode == "any" else Q()
        return getattr(self, f"_tags_{mode}")(tags)

    def _tags_exact(self, tags: list[str]) -> Q:
        raise NotImplementedError

    def _tags_all(self, tags: list[str]) -> Q:
        raise NotImplementedError

    def _tags_any(self, tags: list[str]) -> Q:
        raise NotImplementedError

    def _tags_none(self, tags: list[str]) -> Q:
        return ~self._tags_any(tags)
