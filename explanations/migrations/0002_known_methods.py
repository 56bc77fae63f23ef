"""Register the explanation methods the platform computes, so imports can name them.

The rows are written as literals, as they were when this migration was made: a migration
must not read app code that changes later (0005 brings them in line with the registry).
"""

from django.db import migrations

KNOWN_METHODS = {
    "attention": ("attention", "The model's own attention weights over the tokens.", {}),
    "attention_rollout": (
        "attention",
        "Attention rollout over every transformer layer (Abnar & Zuidema 2020).",
        {},
    ),
    "gradient": ("gradient", "L2 norm over the embedding of d logit_c / d x_i.", {"norm": "l2"}),
    "grad_input": ("gradient", "Gradient x input, summed over the embedding, signed.", {}),
    "integrated_gradients": (
        "gradient",
        "Integrated gradients from an all-zero embedding baseline (Sundararajan et al. 2017).",
        {"n_steps": 50, "integration": "gausslegendre", "baseline": "zero"},
    ),
    "occlusion": ("occlusion", "p_c(x) - p_c(x with embedding i zeroed).", {}),
    "omission": ("occlusion", "Leave-one-out: p_c(x) - p_c(x without token i).", {}),
    "lrp": (
        "propagation",
        "Layer-wise relevance propagation (Arras et al. 2017).",
        {"epsilon": 0.001},
    ),
    "random": ("random", "Seeded random scores: the control every analysis shows.", {"seed": 0}),
}


def add_methods(apps, schema_editor):
    method_model = apps.get_model("explanations", "ExplanationMethod")
    for name, (family, description, parameters) in KNOWN_METHODS.items():
        method_model.objects.update_or_create(
            name=name,
            defaults={"family": family, "description": description, "parameters": parameters},
        )


class Migration(migrations.Migration):
    dependencies = [("explanations", "0001_initial")]
    operations = [migrations.RunPython(add_methods, migrations.RunPython.noop)]
