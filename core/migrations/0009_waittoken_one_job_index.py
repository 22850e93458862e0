"""One index on a wait token's job: the foreign key's own. A second one, named
waittoken_job_idx, held the same column, so every token written updated both.
Dropping it takes a brief lock on the token table and reads nothing."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("queueadmin", "0008_jobevent_no_fk_constraint")]

    operations = [migrations.RemoveIndex(model_name="waittoken", name="waittoken_job_idx")]
