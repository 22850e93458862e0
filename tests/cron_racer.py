"""A process that enqueues due cron schedules at the fake time the test writes to a file.

Run as ``python -m tests.cron_racer CLOCK_FILE STOP_FILE`` with DATABASE_URL set:
it calls ``core.scheduling.cron.enqueue_due(now=<clock>)`` in a tight loop until STOP_FILE exists.
"""

import os
import sys
import time
from datetime import datetime
from pathlib import Path


def main(clock: str, stop: str) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "queueadmin.settings")
    django.setup()
    from core.scheduling import cron

    while not os.path.exists(stop):
        text = Path(clock).read_text().strip()
        if text:
            cron.enqueue_due(now=datetime.fromisoformat(text))
        time.sleep(0.002)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
