"""What the maintenance tests share: running one task, and small delete chunks."""

import pytest

from core import maintenance


def run_task(name: str) -> maintenance.Result:
    """Run the maintenance task ``name`` once, as a worker would; its result."""
    return maintenance.run_all("tester", [name])[name]


@pytest.fixture
def chunk_of_3(settings):
    """Bulk deletes go three rows at a time."""
    settings.QUEUEADMIN = {**settings.QUEUEADMIN, "BULK_CHUNK_SIZE": 3}
