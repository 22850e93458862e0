"""manage.py streambench: every phase on tiny numbers, then the bench topic is gone."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core.bench.streambench import BENCH_TOPIC
from core.models import ConsumerOffset, Message, Partition, Topic

ROWS = {
    r"publish \(one at a time\)": r"([\d,]+) msgs/s\s+\(30 messages\)",
    r"publish_many \(batch=7\)": r"([\d,]+) msgs/s\s+\(50 messages\)",
    r"fetch \+ commit \(fetch=6\)": r"([\d,]+) msgs/s\s+\(50 messages\)",
    r"concurrent publish \(3 publishers\)": r"([\d,]+) msgs/s\s+\(30 messages, dense: yes\)",
}


def bench_is_gone() -> bool:
    return not (
        Topic.objects.filter(name=BENCH_TOPIC).exists()
        or Partition.objects.filter(topic_id=BENCH_TOPIC).exists()
        or Message.objects.filter(topic_id=BENCH_TOPIC).exists()
        or ConsumerOffset.objects.filter(topic_id=BENCH_TOPIC).exists()
    )


@pytest.mark.django_db(transaction=True)
def test_streambench_prints_every_row_and_cleans_up():
    out = StringIO()
    call_command(
        "streambench",
        *("--single", "30", "--messages", "50", "--batch", "7", "--fetch", "6"),
        *("--publishers", "3"),
        stdout=out,
    )
    table = out.getvalue()
    assert re.match(r"streambench on (sqlite|postgresql) \(.+\) — \d+ cores\n", table), table
    for metric, value in ROWS.items():
        match = re.search(rf"^{metric}\s+{value}$", table, re.MULTILINE)
        assert match, f"no {metric!r} row in:\n{table}"
        assert float(match.group(1).replace(",", "")) > 0, table
    assert bench_is_gone()


@pytest.mark.django_db(transaction=True)
def test_streambench_keep_leaves_the_topic_and_only_runs_the_subset():
    out = StringIO()
    call_command(
        "streambench", "--only", "fetch", "--messages", "20", "--fetch", "8", "--keep", stdout=out
    )
    table = out.getvalue()
    assert re.search(
        r"^fetch \+ commit \(fetch=8\)\s+[\d,]+ msgs/s\s+\(20 messages\)$", table, re.M
    )
    assert "publish" not in table
    assert Message.objects.filter(topic_id=BENCH_TOPIC).count() == 20
    assert ConsumerOffset.objects.get(topic_id=BENCH_TOPIC).offset == 20
    # The next run starts from a fresh topic and removes it afterwards.
    call_command("streambench", "--only", "single", "--single", "5", stdout=StringIO())
    assert bench_is_gone()


def test_streambench_refuses_an_unknown_phase():
    with pytest.raises(CommandError, match="--only takes names from"):
        call_command("streambench", "--only", "fetch,latency")
