"""The power analysis service and command, on pilot studies answered by simulated participants."""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from analysis.compute import power
from analysis.compute.power import FAITHFULNESS_TEST, OMNIBUS_TEST
from analysis.services.power import (
    ROUNDING_VARIANCE,
    power_model_override,
    power_pilot_estimate,
)
from analysis.services.results import study_analysis_build
from studies.services import design as study_design
from tests.analysis.conftest import FAST
from tests.studies.factories import make_study

pytestmark = pytest.mark.django_db


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("power_analysis", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_latin_square_lists_are_the_platforms():
    # The simulation draws on the very function study design builds its lists with.
    assert power.latin_square_lists is study_design.latin_square_lists


def test_pilot_estimates_are_the_analysis_mixed_model(rated):
    pilot = power_pilot_estimate(study=rated)
    section = study_analysis_build(study=rated, options=FAST).results["sections"]["rating"]
    fitted = section["mixed_models"][0]
    assert pilot.metric == fitted["metric"] == "comprehensiveness_aopc"
    fixed = {f["term"]: f["estimate"] for f in fitted["fixed_effects"]}
    model = pilot.model
    assert model.reference_method == section["reference_method"] == "random"
    assert model.intercept == pytest.approx(fixed["Intercept"])
    assert model.faithfulness_slope == pytest.approx(
        fixed["comprehensiveness_aopc (per standard deviation)"]
    )
    for name, effect in zip(model.method_names, model.method_effects, strict=True):
        expected = 0.0 if name == "random" else fixed[f"method[{name}] - method[random]"]
        assert effect == pytest.approx(expected)
    variances = {c["name"]: c["variance"] for c in fitted["variance_components"]}
    assert model.sd_participant**2 == pytest.approx(variances["participant"])
    assert model.sd_item**2 == pytest.approx(variances["item"])
    assert model.sd_residual**2 == pytest.approx(variances["residual"] - ROUNDING_VARIANCE)
    assert model.scale == (section["scale"]["min"], section["scale"]["max"])
    assert pilot.n_participants == section["n_participants"]
    assert (pilot.n_items, pilot.items_per_participant) == (6, 6)


def test_command_reports_power_from_a_pilot_and_writes_json_and_csv(rated, tmp_path):
    out, err = _run(
        "--study",
        str(rated.pk),
        "--participants",
        "6,24",
        "--studies",
        "200",
        "--faithfulness-slope",
        "0.4",
        "--json",
        str(tmp_path / "power.json"),
        "--csv",
        str(tmp_path / "power.csv"),
    )
    result = json.loads((tmp_path / "power.json").read_text())
    assert result["pilot"]["study_id"] == rated.pk
    assert result["model"]["faithfulness_slope"] == 0.4  # the assumption replaces the pilot's
    sizes = [(c["design"]["n_participants"], c["design"]["n_items"]) for c in result["cells"]]
    assert sizes == [(6, 6), (24, 6)]
    small, large = ({t["test"]: t for t in cell["tests"]} for cell in result["cells"])
    assert large[FAITHFULNESS_TEST]["power"] > small[FAITHFULNESS_TEST]["power"]
    assert OMNIBUS_TEST in large
    assert large[FAITHFULNESS_TEST]["n_studies"] == 200
    assert "primary" in result["recommendations"]
    assert "participants" in out
    assert "Recommended for primary" in out
    assert f"{large[FAITHFULNESS_TEST]['power']:.3f}" in out
    assert "24 participants x 6 items" in err  # the progress bar
    with (tmp_path / "power.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * len(result["tests"])
    assert {r["test"] for r in rows} == set(result["tests"])


def test_command_with_assumed_effects_recommends_a_size():
    out, _ = _run(
        "--methods",
        "gradient,lrp,random",
        "--method-effects",
        "gradient=0.5,lrp=0.4",
        "--faithfulness-slope",
        "0.3",
        "--participants",
        "6,60",
        "--items-per-participant",
        "12",
        "--studies",
        "200",
        "--scale",
        "continuous",
    )
    assert "scale continuous" in out
    assert (
        "Recommended for primary (faithfulness (per standard deviation) and methods (omnibus)) (power >= 0.8): 60 participants x 12 items"
        in out
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--faithfulness-slope", "0.2"], "--method-effects: required without --study"),
        (
            ["--method-effects", "method_a=0.2,random=0.1", "--faithfulness-slope", "0.1"],
            "--method-effects: the reference method's own effect must be 0",
        ),
        (
            ["--method-effects", "lime=0.2", "--faithfulness-slope", "0.1"],
            "--method-effects: unknown methods ['lime']",
        ),
        (["--method-effects", "method_a", "--faithfulness-slope", "0.1"], "--method-effects:"),
        (
            [
                "--method-effects",
                "method_a=0.2",
                "--faithfulness-slope",
                "0.1",
                "--participants",
                "10,x",
            ],
            "--participants: expected whole numbers",
        ),
        (
            ["--method-effects", "method_a=0.2", "--faithfulness-slope", "0.1", "--sd-item", "-1"],
            "--sd-item: expected a standard deviation >= 0",
        ),
        (
            ["--method-effects", "method_a=0.2", "--faithfulness-slope", "0.1", "--target", "80"],
            "--target: expected a power in (0, 1)",
        ),
        (
            ["--method-effects", "method_a=0.2", "--faithfulness-slope", "0.1", "--scale", "7"],
            "--scale: expected low,high",
        ),
        (["--metric", "tau_loo"], "--metric: only with --study"),
    ],
)
def test_command_names_the_bad_flag(args, message):
    with pytest.raises(CommandError) as caught:
        _run(*args)
    assert message in str(caught.value)


def test_pilot_must_be_a_rating_study_with_answers(corpus, researcher, rated):
    dataset, model = corpus
    pairwise = make_study(
        researcher, dataset, model, study_type="pairwise_preference", name="pairs"
    )
    with pytest.raises(CommandError, match="--study: study .* is a pairwise_preference study"):
        _run("--study", str(pairwise.pk))
    empty = make_study(researcher, dataset, model, name="empty")
    with pytest.raises(CommandError, match="--study: study .* has no included ratings yet"):
        _run("--study", str(empty.pk))
    with pytest.raises(CommandError, match="--metric: 'tau_loo' is not a faithfulness metric"):
        _run("--study", str(rated.pk), "--metric", "tau_loo")


def test_an_assumed_slope_keeps_the_pilots_mean_rating():
    """A pilot whose faithfulness sits 14 SDs from 0: the new slope moves the intercept."""
    pilot = power.PowerModel(
        method_names=("gradient", "random"),
        reference_method="random",
        intercept=-7.5,
        method_effects=(0.0, 0.0),
        faithfulness_slope=0.65,
        faithfulness_mean=(14.3, 14.3),
        faithfulness_sd=(1.0, 1.0),
        sd_participant=0.7,
        sd_item=0.3,
        sd_residual=0.6,
        scale=(1, 5),
    )
    assumed = power_model_override(pilot, {"faithfulness_slope": 0.4})
    assert assumed.faithfulness_slope == 0.4
    at_mean = pilot.intercept + pilot.faithfulness_slope * 14.3
    assert assumed.intercept + 0.4 * 14.3 == pytest.approx(at_mean)
    # an intercept given with it is kept as given
    both = power_model_override(pilot, {"faithfulness_slope": 0.4, "intercept": 2.0})
    assert both.intercept == 2.0
