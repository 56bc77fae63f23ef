"""The method rows in the database: written by the migrations, as the registry declares them."""

import importlib

import pytest
from django.apps import apps

from explanations.compute.registry import (
    method_declaration,
    method_description,
    method_family,
    method_names,
    stored_method_names,
)
from explanations.models import Explanation, ExplanationMethod
from explanations.services.explanations import model_for_import
from explanations.services.methods import known_methods_ensure

from .factories import small_dataset

pytestmark = pytest.mark.django_db

migration = importlib.import_module("explanations.migrations.0005_method_registry")
diagnostics_migration = importlib.import_module(
    "explanations.migrations.0006_attention_diagnostics"
)
adversary_migration = importlib.import_module("explanations.migrations.0007_wiegreffe_pinter")


def _rows():
    return {
        m.name: (m.family, m.description, m.parameters) for m in ExplanationMethod.objects.all()
    }


def _registry():
    return {
        name: (method_family(name), method_description(name), method_declaration(name))
        for name in (*method_names(), *stored_method_names())
    }


def test_migrated_rows_match_the_registry():
    """A registry change without a data migration fails here.

    The method rows are written again by the data migrations' own functions, in order: a
    transactional test run before this one in the same process (a browser test, a worker
    test) empties every table when it ends, the rows the migrations wrote included.
    """
    ExplanationMethod.objects.all().delete()
    initial = importlib.import_module("explanations.migrations.0002_known_methods")
    for write in (
        initial.add_methods,
        migration.methods_update,
        diagnostics_migration.adversarial_method_add,
        adversary_migration.adversary_method_add,
    ):
        write(apps, None)
    assert _rows() == _registry()


def test_migration_literals_are_the_registrys():
    written = {name: tuple(row) for name, row in migration.METHODS.items()}
    stored = diagnostics_migration.ADVERSARIAL
    written["adversarial_attention"] = (stored["family"], stored["description"], [])
    adversary = adversary_migration.ADVERSARY
    written["adversary_attention"] = (adversary["family"], adversary["description"], [])
    assert written == _registry()


def test_known_methods_ensure_recreates_missing_rows_from_the_registry():
    ExplanationMethod.objects.filter(name__in=["lrp", "random"]).delete()
    ids = known_methods_ensure()
    # Stored-only methods (adversarial_attention, issue #13) get their row on demand too.
    everything = (*method_names(), *stored_method_names())
    assert list(ids) == sorted(everything)
    assert _rows() == _registry()


def test_migration_renames_stored_lrp_eps_to_epsilon(tmp_path):
    dataset = small_dataset(tmp_path)
    model = model_for_import(name="elsewhere", dataset=dataset, owner=None)
    methods = known_methods_ensure()
    first, second = dataset.instances.order_by("pk")[:2]
    old = Explanation.objects.create(
        model=model,
        instance=first,
        method_id=methods["lrp"],
        scores=[0.0] * len(first.tokens),
        parameters={"output": "logit", "eps": 0.01, "bias_factor": 0.0},
    )
    other = Explanation.objects.create(
        model=model,
        instance=first,
        method_id=methods["gradient"],
        scores=[0.0] * len(first.tokens),
        parameters={"eps": 1.0},
    )
    new = Explanation.objects.create(
        model=model,
        instance=second,
        method_id=methods["lrp"],
        scores=[0.0] * len(second.tokens),
        parameters={"output": "logit", "epsilon": 0.001, "bias_factor": 0.0},
    )
    migration.lrp_epsilon_rename(apps, None)
    old.refresh_from_db()
    other.refresh_from_db()
    new.refresh_from_db()
    assert old.parameters == {"output": "logit", "epsilon": 0.01, "bias_factor": 0.0}
    assert list(old.parameters) == ["output", "epsilon", "bias_factor"]
    assert other.parameters == {"eps": 1.0}  # only LRP's parameter was renamed
    assert new.parameters == {"output": "logit", "epsilon": 0.001, "bias_factor": 0.0}
    migration.lrp_epsilon_restore(apps, None)
    old.refresh_from_db()
    assert old.parameters == {"output": "logit", "eps": 0.01, "bias_factor": 0.0}
