"""Study design fields check their documented ranges (studies.design_fields) in full_clean."""

import studies.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('studies', '0005_participant_simulated'),
    ]

    operations = [
        migrations.AlterField(
            model_name='study',
            name='estimated_minutes',
            field=models.PositiveIntegerField(default=10, validators=[studies.models.DesignRange('estimated_minutes')]),
        ),
        migrations.AlterField(
            model_name='study',
            name='items_per_participant',
            field=models.PositiveIntegerField(blank=True, help_text='Test trials per list; empty means all sampled instances.', null=True, validators=[studies.models.DesignRange('items_per_participant')]),
        ),
        migrations.AlterField(
            model_name='study',
            name='n_items',
            field=models.PositiveIntegerField(default=20, help_text='Test instances sampled.', validators=[studies.models.DesignRange('n_items')]),
        ),
        migrations.AlterField(
            model_name='study',
            name='practice_count',
            field=models.PositiveIntegerField(default=1, validators=[studies.models.DesignRange('practice_count')]),
        ),
        migrations.AlterField(
            model_name='study',
            name='ratings_per_item',
            field=models.PositiveIntegerField(default=3, help_text='k: participants per list, so each item x method is judged k times.', validators=[studies.models.DesignRange('ratings_per_item')]),
        ),
        migrations.AlterField(
            model_name='study',
            name='seed',
            field=models.IntegerField(default=0, validators=[studies.models.DesignRange('seed')]),
        ),
        migrations.AlterField(
            model_name='study',
            name='time_limit_minutes',
            field=models.PositiveIntegerField(default=60, help_text='Unfinished assignments are released to others after this (at most a week).', validators=[studies.models.DesignRange('time_limit_minutes')]),
        ),
        migrations.AlterField(
            model_name='study',
            name='top_k',
            field=models.PositiveIntegerField(blank=True, help_text='Highlight only the k highest tokens; empty means all.', null=True, validators=[studies.models.DesignRange('top_k')]),
        ),
    ]
