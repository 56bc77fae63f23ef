"""Participants' data (issue #16): a pseudonym secret per study, the deletion log, retention.

AddField computes a callable default once for every existing row, so existing studies would
share one secret (their pseudonyms linkable across studies); ``_own_secrets`` gives each
study its own before the field takes its per-row default.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import studies.pseudonyms


def _own_secrets(apps, schema_editor):
    study_model = apps.get_model("studies", "Study")
    for study in study_model.objects.only("pk").iterator():
        study_model.objects.filter(pk=study.pk).update(
            pseudonym_secret=studies.pseudonyms.new_pseudonym_secret()
        )


class Migration(migrations.Migration):

    dependencies = [
        ('studies', '0006_design_field_ranges'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='study',
            name='platform_ids_erased_at',
            field=models.DateTimeField(blank=True, editable=False, help_text='When erase_platform_ids removed the Prolific and MTurk ids (retention).', null=True),
        ),
        migrations.AddField(
            model_name='study',
            name='pseudonym_secret',
            field=models.CharField(default='', editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(_own_secrets, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='study',
            name='pseudonym_secret',
            field=models.CharField(default=studies.pseudonyms.new_pseudonym_secret, editable=False, help_text="Key of the participants' pseudonyms (studies.pseudonyms); never exported.", max_length=64),
        ),
        migrations.CreateModel(
            name='ParticipantDeletion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('pseudonym', models.CharField(max_length=20)),
                ('source', models.CharField(choices=[('prolific', 'Prolific'), ('mturk', 'Amazon Mechanical Turk'), ('invited', 'Invitation'), ('anonymous', 'Anonymous link')], max_length=20)),
                ('answers', models.PositiveIntegerField(help_text='Responses removed.')),
                ('questionnaire_answers', models.PositiveIntegerField(default=0)),
                ('rationales', models.PositiveIntegerField(default=0, help_text='Human rationale rows derived from the answers, removed.')),
                ('reason', models.TextField(blank=True)),
                ('deleted_at', models.DateTimeField(auto_now_add=True)),
                ('deleted_by', models.ForeignKey(blank=True, help_text='Empty when done on the command line without --by.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('study', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deletions', to='studies.study')),
            ],
            options={
                'ordering': ['study', 'deleted_at', 'pk'],
                'constraints': [models.UniqueConstraint(fields=('study', 'pseudonym'), name='participantdeletion_once_per_participant')],
            },
        ),
    ]
