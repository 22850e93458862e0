"""Lists of names (queues, job types, events): one check, ``Checks.names``, behind
``dequeue``, ``run_once`` and ``listen``."""

import pytest

from core import queue
from core.exceptions import InvalidJobError
from core.models import Job
from core.validation import Checks

check = Checks(InvalidJobError)


def test_names_reads_a_bare_string_as_one_name():
    assert check.names("queue", "emails") == ["emails"]


def test_names_keeps_every_name_of_a_list_or_other_iterable_in_order():
    assert check.names("queue", ("b", "a")) == ["b", "a"]


def test_names_refuses_a_bare_string_when_only_lists_are_taken():
    with pytest.raises(InvalidJobError, match=r"^queues: must be a list of names, got 'ab'"):
        check.names("queues", "ab", one=False)


@pytest.mark.parametrize("value", [5, {"a": 1}, b"ab", None])
def test_names_refuses_what_is_not_a_list(value):
    with pytest.raises(InvalidJobError, match=r"^queue: must be a name or a list of names"):
        check.names("queue", value)


def test_names_refuses_an_empty_list():
    with pytest.raises(InvalidJobError, match=r"^job_types: give at least one name"):
        check.names("job_types", [])


def test_names_checks_each_name_with_the_given_check():
    with pytest.raises(InvalidJobError, match=r"^queue: 'a b'"):
        check.names("queue", ["ok", "a b"], check.name)
    with pytest.raises(InvalidJobError, match=r"^job_types: must be a non-empty string"):
        check.names("job_types", ["ok", ""])


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["queues", "job_types"])
def test_run_once_refuses_an_empty_list_instead_of_claiming_nothing(field):
    queue.enqueue("test.echo")
    with pytest.raises(InvalidJobError, match=f"^{field}: give at least one name"):
        queue.run_once(**{field: []})
    assert Job.objects.get().status == "pending"


@pytest.mark.django_db
def test_run_once_refuses_a_queue_name_no_queue_can_have():
    with pytest.raises(InvalidJobError, match=r"^queues: 'a b'"):
        queue.run_once(queues=["a b"])


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["events", "queues"])
def test_listen_refuses_an_empty_list_instead_of_hearing_nothing(field):
    with pytest.raises(InvalidJobError, match=f"^{field}: give at least one name"):
        queue.listen(**{field: []})
