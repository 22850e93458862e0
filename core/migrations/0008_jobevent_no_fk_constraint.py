"""No foreign-key constraint from job events to jobs: its check ran for every event
row, two per job run (see JobEvent.job). Dropping it takes a brief lock and no scan on
PostgreSQL; SQLite rebuilds the event table."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("queueadmin", "0007_job_created_idx")]

    operations = [
        migrations.AlterField(
            model_name="jobevent",
            name="job",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="events",
                to="queueadmin.job",
            ),
        ),
    ]
