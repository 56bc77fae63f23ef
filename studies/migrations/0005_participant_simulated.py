"""Participant.simulated replaces the ``[simulated]`` invitation-label convention."""

from django.db import migrations, models

SIMULATED_PREFIX = "[simulated]"


def mark_simulated(apps, schema_editor):  # type: ignore[no-untyped-def]  # migration signature
    Participant = apps.get_model("studies", "Participant")
    Participant.objects.filter(invitation__label__startswith=SIMULATED_PREFIX).update(
        simulated=True
    )


def unmark_simulated(apps, schema_editor):  # type: ignore[no-untyped-def]  # migration signature
    apps.get_model("studies", "Participant").objects.update(simulated=False)


class Migration(migrations.Migration):
    dependencies = [("studies", "0004_adjudication_key_per_study")]

    operations = [
        migrations.AddField(
            model_name="participant",
            name="simulated",
            field=models.BooleanField(
                default=False, help_text="Simulated by the software (demos, tests), not a person."
            ),
        ),
        migrations.RunPython(mark_simulated, unmark_simulated),
    ]
