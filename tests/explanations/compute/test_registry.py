"""The method registry: one declaration of every method, its parameters and the kinds it serves."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from explanations.compute import registry
from explanations.compute.registry import (
    KINDS,
    method_declaration,
    method_family,
    method_names,
    method_parameters,
    methods_check,
    methods_resolve,
    supported_methods,
    unsupported_reason,
)

DESIGN_METHODS = (
    "attention",
    "attention_rollout",
    "gradient",
    "grad_input",
    "integrated_gradients",
    "occlusion",
    "omission",
    "lrp",
    "random",
)
ROOT = Path(__file__).resolve().parents[3]


def test_every_design_method_is_declared_once_in_order():
    assert method_names() == DESIGN_METHODS
    declared = [m.name for m in registry._METHODS]
    assert len(declared) == len(set(declared))


def test_within_a_kind_each_parameter_is_declared_once():
    for method in registry._METHODS:
        for kind in KINDS:
            names = [p.name for p in method.parameters_for(kind)]
            assert len(names) == len(set(names)), (method.name, kind)


def test_families_are_the_design_documents():
    assert {m: method_family(m) for m in method_names()} == {
        "attention": "attention",
        "attention_rollout": "attention",
        "gradient": "gradient",
        "grad_input": "gradient",
        "integrated_gradients": "gradient",
        "occlusion": "occlusion",
        "omission": "occlusion",
        "lrp": "propagation",
        "random": "random",
    }


def test_native_defaults_keep_the_stored_names_and_values():
    """Explanations already stored carry these exact dictionaries."""
    expected = {
        "attention": {},
        "attention_rollout": {"residual": 0.5},
        "gradient": {"output": "logit", "norm": "l2"},
        "grad_input": {"output": "logit", "reduction": "sum"},
        "integrated_gradients": {
            "output": "logit",
            "n_steps": 50,
            "integration": "gausslegendre",
            "baseline": "zero",
        },
        "occlusion": {"output": "probability", "replacement": "zero_embedding"},
        "omission": {"output": "probability"},
        "lrp": {"output": "logit", "epsilon": 0.001, "bias_factor": 0.0},
        "random": {"seed": 0, "distribution": "uniform"},
    }
    assert {m: method_parameters(m) for m in method_names()} == expected
    for kind in ("bilstm_attention", "transformer"):
        for method in supported_methods(kind):
            assert method_parameters(method, kind) == expected[method]


def test_huggingface_defaults_add_pooling_and_attention_options():
    hf = {m: method_parameters(m, "huggingface") for m in supported_methods("huggingface")}
    assert hf == {
        "attention": {"layer": -1, "head_pooling": "mean", "pooling": "sum"},
        "attention_rollout": {"residual": 0.5, "head_pooling": "mean", "pooling": "sum"},
        "gradient": {"output": "logit", "norm": "l2", "pooling": "l2"},
        "grad_input": {"output": "logit", "reduction": "sum", "pooling": "sum"},
        "integrated_gradients": {
            "output": "logit",
            "n_steps": 50,
            "integration": "gausslegendre",
            "baseline": "zero",
            "pooling": "sum",
        },
        "occlusion": {
            "output": "probability",
            "replacement": "zero_embedding",
            "pooling": "sum",
        },
        "omission": {"output": "probability"},
        "random": {"seed": 0, "distribution": "uniform"},
    }


@pytest.mark.parametrize("name", ["pooling", "layer", "head_pooling"])
def test_subword_parameters_apply_to_huggingface_only(name):
    for method in registry._METHODS:
        for parameter in method.parameters:
            if parameter.name == name:
                assert parameter.kinds == ("huggingface",), method.name
    for kind in ("bilstm_attention", "transformer"):
        for method in supported_methods(kind):
            assert name not in method_parameters(method, kind)
    with pytest.raises(
        ValueError, match=r"gradient takes no parameter pooling .*applies to huggingface models"
    ):
        method_parameters("gradient", pooling="sum")


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        ("saliency", {}, "unknown attribution method 'saliency'; expected one of attention,"),
        ("integrated_gradients", {"steps": 5}, r"takes no parameter steps \(allowed: output,"),
        ("integrated_gradients", {"n_steps": 1}, "n_steps must be an integer >= 2, got 1"),
        ("integrated_gradients", {"n_steps": 2.5}, "n_steps must be an integer >= 2, got 2.5"),
        ("integrated_gradients", {"n_steps": True}, "n_steps must be an integer >= 2"),
        ("integrated_gradients", {"baseline": "mask"}, "baseline must be one of zero, pad, got"),
        ("attention_rollout", {"residual": 1.5}, r"residual must be in \[0, 1\], got 1.5"),
        ("lrp", {"epsilon": -1}, "lrp epsilon must be a non-negative number, got -1"),
        ("lrp", {"eps": 0.01}, r"lrp takes no parameter eps \(allowed: output, epsilon,"),
        ("lrp", {"bias_factor": "x"}, "bias_factor must be a non-negative number"),
        ("random", {"seed": "x"}, "random seed must be an integer, got 'x'"),
        ("gradient", {"norm": "l1"}, "gradient norm must be one of l2, got 'l1'"),
    ],
)
def test_bad_parameters_are_refused_with_a_clear_message(method, params, message):
    with pytest.raises(ValueError, match=message):
        method_parameters(method, **params)


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        ("gradient", {"pooling": "max"}, "pooling must be one of sum, l2, max_abs, mean"),
        ("attention", {"head_pooling": "sum"}, "head_pooling must be one of mean, max"),
        ("attention", {"layer": "last"}, "attention layer must be an integer, got 'last'"),
        ("integrated_gradients", {"baseline": "unk"}, "baseline must be one of zero, mask, pad"),
        (
            "omission",
            {"pooling": "sum"},
            r"omission takes no parameter pooling \(allowed: output\)",
        ),
        ("lrp", {}, "'lrp' is not available for model kind 'huggingface': its rules here"),
    ],
)
def test_bad_huggingface_parameters_are_refused(method, params, message):
    with pytest.raises(ValueError, match=message):
        method_parameters(method, "huggingface", **params)


def test_parameters_are_normalised_and_accepted_in_range():
    assert method_parameters("lrp", epsilon=0)["epsilon"] == 0.0
    assert isinstance(method_parameters("lrp", epsilon=0)["epsilon"], float)
    assert method_parameters("attention_rollout", residual=1)["residual"] == 1.0
    assert method_parameters("integrated_gradients", "huggingface", baseline="mask")[
        "baseline"
    ] == ("mask")
    assert method_parameters("attention", "huggingface", layer=0, pooling="max_abs") == {
        "layer": 0,
        "head_pooling": "mean",
        "pooling": "max_abs",
    }


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="unknown model kind 'cnn'; expected one of bilstm"):
        method_parameters("gradient", "cnn")
    with pytest.raises(ValueError, match="unknown model kind 'cnn'"):
        supported_methods("cnn")
    with pytest.raises(ValueError, match="no method is computed for an external model"):
        method_parameters("gradient", "external")


def test_supported_methods_per_kind():
    everything = set(DESIGN_METHODS)
    assert set(supported_methods("bilstm_attention")) == everything - {"attention_rollout"}
    assert set(supported_methods("transformer")) == everything - {"lrp"}
    assert set(supported_methods("huggingface")) == everything - {"lrp"}
    assert supported_methods("external") == ()
    for kind in KINDS:
        assert list(supported_methods(kind)) == [
            m for m in DESIGN_METHODS if m in supported_methods(kind)
        ]


def test_every_unsupported_method_has_a_reason():
    for kind in (*KINDS, "external"):
        for method in method_names():
            reason = unsupported_reason(method, kind)
            assert (reason is None) == (method in supported_methods(kind)), (method, kind)
            assert reason is None or len(reason) > 10
    assert "LSTM gates" in unsupported_reason("lrp", "transformer")
    assert "Ali et al. 2022" in unsupported_reason("lrp", "huggingface")
    assert "self-attention" in unsupported_reason("attention_rollout", "bilstm_attention")
    assert "imported" in unsupported_reason("gradient", "external")
    with pytest.raises(ValueError, match="unknown attribution method 'shap'"):
        unsupported_reason("shap", "transformer")


def test_methods_check_keeps_order_and_drops_repeats():
    assert methods_check(["random", "gradient", "random"], kind="transformer", model_name="m") == [
        "random",
        "gradient",
    ]


def test_methods_check_names_the_unsupported_method_the_model_and_what_it_supports():
    with pytest.raises(ValueError, match="my-bert") as error:
        methods_check(["gradient", "lrp"], kind="huggingface", model_name="my-bert")
    message = str(error.value)
    assert message.startswith("method(s) lrp not supported by model my-bert (huggingface): lrp: ")
    assert "Ali et al. 2022" in message
    assert message.endswith(
        "It supports attention, attention_rollout, gradient, grad_input, "
        "integrated_gradients, occlusion, omission, random"
    )


def test_methods_check_names_an_unknown_method():
    with pytest.raises(
        ValueError,
        match=r"unknown method\(s\) shap; model tiny \(bilstm_attention\) supports attention, "
        r"gradient, .*lrp, random$",
    ):
        methods_check(["gradient", "shap"], kind="bilstm_attention", model_name="tiny")


def test_methods_check_refuses_everything_for_an_external_model():
    with pytest.raises(
        ValueError,
        match=r"not supported by model ext \(external\): random: its explanations are "
        r"imported.*It supports none",
    ):
        methods_check(["random"], kind="external", model_name="ext")


def test_methods_resolve_defaults_to_every_supported_method():
    for kind in KINDS:
        assert methods_resolve(None, kind=kind, model_name="m") == list(supported_methods(kind))
        assert methods_resolve([], kind=kind, model_name="m") == list(supported_methods(kind))
    assert methods_resolve(["omission"], kind="transformer", model_name="m") == ["omission"]
    with pytest.raises(ValueError, match=r"model ext \(external\) supports no computed method"):
        methods_resolve(None, kind="external", model_name="ext")


def test_declarations_are_json_ready_and_match_the_resolved_defaults():
    for method in method_names():
        declared = method_declaration(method)
        for kind in KINDS:
            if unsupported_reason(method, kind) is not None:
                continue
            defaults = {d["name"]: d["default"] for d in declared if kind in d["kinds"]}
            assert defaults == method_parameters(method, kind)
        for entry in declared:
            assert set(entry) >= {"name", "default", "kinds", "description"}
            assert ("choices" in entry) != ("type" in entry)
    [baseline] = [
        d
        for d in method_declaration("integrated_gradients")
        if d["name"] == "baseline" and "huggingface" in d["kinds"]
    ]
    assert baseline["choices"] == ["zero", "mask", "pad"]


def test_the_registry_imports_neither_torch_nor_django():
    tree = ast.parse((ROOT / "explanations/compute/registry.py").read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= {"collections", "dataclasses", "typing"}
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, explanations.compute.registry; "
            "print(sorted(m for m in ('torch', 'django', 'numpy') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert loaded.stdout.strip() == "[]"
