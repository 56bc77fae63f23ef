"""Bring the method rows in line with the method registry; rename LRP's ``eps`` to ``epsilon``.

The rows' family, description and parameters are those of
``explanations.compute.registry`` when this migration was made, written here as
literals: a migration must not read app code that changes later. Stored LRP
explanations carry their resolved parameters; LRP's stabiliser is called ``epsilon``
everywhere now, so the old key ``eps`` is renamed (value unchanged).
"""

from django.db import migrations

# name -> (family, description, parameter declarations), as the registry declares them.
METHODS = {
    "attention": (
        "attention",
        "The model's own attention weights over the tokens (for a Hugging Face model, "
        "the first token's row of a layer, the last by default, pooled over the heads).",
        [
            {
                "name": "layer",
                "default": -1,
                "type": "int",
                "kinds": ["huggingface"],
                "description": "The layer whose attention is read; negative counts from the "
                "last (-1).",
            },
            {
                "name": "head_pooling",
                "default": "mean",
                "choices": ["mean", "max"],
                "kinds": ["huggingface"],
                "description": "How the attention heads of a layer are combined.",
            },
            {
                "name": "pooling",
                "default": "sum",
                "choices": ["sum", "l2", "max_abs", "mean"],
                "kinds": ["huggingface"],
                "description": "How a word's subword scores become one score: their sum, the "
                "L2 norm over all its pieces (and embedding dimensions), the "
                "score of largest magnitude, or their mean.",
            },
        ],
    ),
    "attention_rollout": (
        "attention",
        "Attention rollout over every transformer layer (Abnar & Zuidema 2020).",
        [
            {
                "name": "residual",
                "default": 0.5,
                "type": "float",
                "minimum": 0.0,
                "maximum": 1.0,
                "kinds": ["bilstm_attention", "transformer", "huggingface"],
                "description": "Weight of the identity (the residual connection) "
                "mixed into each layer's attention before the layers "
                "are multiplied.",
            },
            {
                "name": "head_pooling",
                "default": "mean",
                "choices": ["mean", "max"],
                "kinds": ["huggingface"],
                "description": "How the attention heads of a layer are combined.",
            },
            {
                "name": "pooling",
                "default": "sum",
                "choices": ["sum", "l2", "max_abs", "mean"],
                "kinds": ["huggingface"],
                "description": "How a word's subword scores become one score: their "
                "sum, the L2 norm over all its pieces (and embedding "
                "dimensions), the score of largest magnitude, or their "
                "mean.",
            },
        ],
    ),
    "gradient": (
        "gradient",
        "Gradient (sensitivity): the L2 norm over the embedding of d logit_c / d x_i.",
        [
            {
                "name": "output",
                "default": "logit",
                "choices": ["logit"],
                "kinds": ["bilstm_attention", "transformer", "huggingface"],
                "description": "What is explained: the target's logit or its softmax probability.",
            },
            {
                "name": "norm",
                "default": "l2",
                "choices": ["l2"],
                "kinds": ["bilstm_attention", "transformer", "huggingface"],
                "description": "Norm over the embedding dimension of the gradient.",
            },
            {
                "name": "pooling",
                "default": "l2",
                "choices": ["sum", "l2", "max_abs", "mean"],
                "kinds": ["huggingface"],
                "description": "How a word's subword scores become one score: their sum, the "
                "L2 norm over all its pieces (and embedding dimensions), the "
                "score of largest magnitude, or their mean.",
            },
        ],
    ),
    "grad_input": (
        "gradient",
        "Gradient x input, summed over the embedding, signed.",
        [
            {
                "name": "output",
                "default": "logit",
                "choices": ["logit"],
                "kinds": ["bilstm_attention", "transformer", "huggingface"],
                "description": "What is explained: the target's logit or its softmax probability.",
            },
            {
                "name": "reduction",
                "default": "sum",
                "choices": ["sum"],
                "kinds": ["bilstm_attention", "transformer", "huggingface"],
                "description": "Reduction over the embedding dimension of gradient x input.",
            },
            {
                "name": "pooling",
                "default": "sum",
                "choices": ["sum", "l2", "max_abs", "mean"],
                "kinds": ["huggingface"],
                "description": "How a word's subword scores become one score: their sum, the "
                "L2 norm over all its pieces (and embedding dimensions), the "
                "score of largest magnitude, or their mean.",
            },
        ],
    ),
    "integrated_gradients": (
        "gradient",
        "Integrated gradients from an all-zero embedding baseline "
        "(Sundararajan et al. 2017), summed over the embedding; the "
        "completeness gap is kept.",
        [
            {
                "name": "output",
                "default": "logit",
                "choices": ["logit"],
                "kinds": ["bilstm_attention", "transformer", "huggingface"],
                "description": "What is explained: the target's logit or its softmax probability.",
            },
            {
                "name": "n_steps",
                "default": 50,
                "type": "int",
                "minimum": 2,
                "kinds": ["bilstm_attention", "transformer", "huggingface"],
                "description": "Number of integration steps.",
            },
            {
                "name": "integration",
                "default": "gausslegendre",
                "choices": ["gausslegendre", "riemann_trapezoid"],
                "kinds": ["bilstm_attention", "transformer", "huggingface"],
                "description": "Quadrature: Gauss-Legendre nodes (Captum's "
                "default) or the Riemann trapezoid.",
            },
            {
                "name": "baseline",
                "default": "zero",
                "choices": ["zero", "pad"],
                "kinds": ["bilstm_attention", "transformer"],
                "description": "Baseline embeddings: all zero, or the padding token's.",
            },
            {
                "name": "baseline",
                "default": "zero",
                "choices": ["zero", "mask", "pad"],
                "kinds": ["huggingface"],
                "description": "Baseline embeddings of the words' pieces: all "
                "zero, the mask token's or the padding token's "
                "(special tokens keep their own embedding).",
            },
            {
                "name": "pooling",
                "default": "sum",
                "choices": ["sum", "l2", "max_abs", "mean"],
                "kinds": ["huggingface"],
                "description": "How a word's subword scores become one score: "
                "their sum, the L2 norm over all its pieces (and "
                "embedding dimensions), the score of largest "
                "magnitude, or their mean.",
            },
        ],
    ),
    "occlusion": (
        "occlusion",
        "p_c(x) - p_c(x with embedding i zeroed), in probability space (Bastings & Filippova).",
        [
            {
                "name": "output",
                "default": "probability",
                "choices": ["probability"],
                "kinds": ["bilstm_attention", "transformer", "huggingface"],
                "description": "What is explained: the target's logit or its softmax probability.",
            },
            {
                "name": "replacement",
                "default": "zero_embedding",
                "choices": ["zero_embedding"],
                "kinds": ["bilstm_attention", "transformer", "huggingface"],
                "description": "What replaces the occluded word's embedding (every piece of "
                "it for a Hugging Face model).",
            },
            {
                "name": "pooling",
                "default": "sum",
                "choices": ["sum", "l2", "max_abs", "mean"],
                "kinds": ["huggingface"],
                "description": "How a word's subword scores become one score: their sum, the "
                "L2 norm over all its pieces (and embedding dimensions), the "
                "score of largest magnitude, or their mean.",
            },
        ],
    ),
    "omission": (
        "occlusion",
        "Leave-one-out: p_c(x) - p_c(x without token i).",
        [
            {
                "name": "output",
                "default": "probability",
                "choices": ["probability"],
                "kinds": ["bilstm_attention", "transformer", "huggingface"],
                "description": "What is explained: the target's logit or its softmax probability.",
            }
        ],
    ),
    "lrp": (
        "propagation",
        "Layer-wise relevance propagation, epsilon rule, through the LSTM gates and the "
        "attention (Arras et al. 2017).",
        [
            {
                "name": "output",
                "default": "logit",
                "choices": ["logit"],
                "kinds": ["bilstm_attention", "transformer", "huggingface"],
                "description": "What is explained: the target's logit or its softmax probability.",
            },
            {
                "name": "epsilon",
                "default": 0.001,
                "type": "float",
                "minimum": 0.0,
                "kinds": ["bilstm_attention", "transformer", "huggingface"],
                "description": "Stabiliser of the epsilon rule.",
            },
            {
                "name": "bias_factor",
                "default": 0.0,
                "type": "float",
                "minimum": 0.0,
                "kinds": ["bilstm_attention", "transformer", "huggingface"],
                "description": "Share of the bias and stabiliser relevance redistributed to the "
                "inputs (0: absorbed, 1: redistributed).",
            },
        ],
    ),
    "random": (
        "random",
        "Seeded random scores: the control every analysis shows.",
        [
            {
                "name": "seed",
                "default": 0,
                "type": "int",
                "kinds": ["bilstm_attention", "transformer", "huggingface"],
                "description": "Seed of the random generator.",
            },
            {
                "name": "distribution",
                "default": "uniform",
                "choices": ["uniform"],
                "kinds": ["bilstm_attention", "transformer", "huggingface"],
                "description": "Distribution of the random scores.",
            },
        ],
    ),
}

BATCH = 2000


def methods_update(apps, schema_editor):
    method_model = apps.get_model("explanations", "ExplanationMethod")
    for name, (family, description, parameters) in METHODS.items():
        method_model.objects.update_or_create(
            name=name,
            defaults={"family": family, "description": description, "parameters": parameters},
        )


def _rename(apps, old, new):
    explanation_model = apps.get_model("explanations", "Explanation")
    rows = explanation_model.objects.filter(method__name="lrp").only("pk", "parameters")
    changed = []
    for row in rows.iterator(chunk_size=BATCH):
        parameters = row.parameters
        if isinstance(parameters, dict) and old in parameters and new not in parameters:
            row.parameters = {
                (new if key == old else key): value for key, value in parameters.items()
            }
            changed.append(row)
        if len(changed) >= BATCH:
            explanation_model.objects.bulk_update(changed, ["parameters"])
            changed = []
    if changed:
        explanation_model.objects.bulk_update(changed, ["parameters"])


def lrp_epsilon_rename(apps, schema_editor):
    _rename(apps, "eps", "epsilon")


def lrp_epsilon_restore(apps, schema_editor):
    _rename(apps, "epsilon", "eps")


class Migration(migrations.Migration):
    dependencies = [("explanations", "0004_classifiermodel_huggingface")]
    operations = [
        migrations.RunPython(methods_update, migrations.RunPython.noop),
        migrations.RunPython(lrp_epsilon_rename, lrp_epsilon_restore),
    ]
