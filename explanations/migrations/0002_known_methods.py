"""Register the explanation methods the platform computes, so imports can name them."""

from django.db import migrations

from explanations.methods import KNOWN_METHODS


def add_methods(apps, schema_editor):
    method_model = apps.get_model("explanations", "ExplanationMethod")
    for name, (family, description, parameters) in KNOWN_METHODS.items():
        method_model.objects.update_or_create(
            name=name, defaults={"family": family, "description": description, "parameters": parameters}
        )


class Migration(migrations.Migration):
    dependencies = [("explanations", "0001_initial")]
    operations = [migrations.RunPython(add_methods, migrations.RunPython.noop)]
