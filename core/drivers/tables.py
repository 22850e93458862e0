"""Table names for raw SQL, taken from the models: ``{Job}`` in a statement becomes
``"queueadmin_job"`` (``Job._meta.db_table``, quoted), so the SQL follows the app's
label and any ``db_table`` a model sets."""

import re

from core.models import ChannelPolicy, Job, JobEvent, Message, Partition, Queue, Worker

MODELS = {
    model.__name__: model
    for model in (ChannelPolicy, Job, JobEvent, Message, Partition, Queue, Worker)
}
_PLACEHOLDER = re.compile(r"\{(" + "|".join(MODELS) + r")\}")


def table(model_name: str) -> str:
    """The quoted table of a model named in MODELS."""
    return f'"{MODELS[model_name]._meta.db_table}"'


def sql(text: str) -> str:
    """``text`` with every ``{Model}`` placeholder replaced by the model's quoted table
    (other ``{…}`` fields are left for a later ``str.format``)."""
    return _PLACEHOLDER.sub(lambda m: table(m.group(1)), text)
