"""The analysis bundle: files, CSV conventions that pandas and R read unchanged, checksums."""

import hashlib
import json
import re

import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analysis import bundle
from analysis.bundle import bundle_files, table_csv
from analysis.services.results import study_analysis_build
from analysis.services.tables import Column, Table
from explanations.models import Explanation

from .conftest import FAST

# R's make.names leaves a name unchanged when it matches this and is not a reserved word.
R_NAME = re.compile(r"^([A-Za-z]|[.][A-Za-z_.])[A-Za-z0-9_.]*$")
R_RESERVED = {"if", "else", "repeat", "while", "function", "for", "next", "break", "TRUE",
              "FALSE", "NULL", "Inf", "NaN", "NA", "in"}  # fmt: skip


def test_csv_conventions_round_trip_in_pandas():
    table = Table(
        "t",
        "test",
        (Column("a", "id", ""), Column("b", "answer", ""), Column("c", "answer", "")),
        [
            {"a": 1, "b": 0.1 + 0.2, "c": 'He said "no", twice,\nthen left'},
            {"a": 2, "b": None, "c": True},
            {"a": 3, "b": float("nan"), "c": [1, 2]},
        ],
    )
    text = table_csv(table).decode()
    assert text.splitlines()[0] == "a,b,c"
    assert "\r" not in text
    assert ",NA," in text
    assert "TRUE" in text
    frame = pd.read_csv(pd.io.common.StringIO(text))
    assert frame["b"][0] == 0.1 + 0.2  # full precision survives
    assert frame["b"].isna().tolist() == [False, True, True]
    assert frame["c"][0] == 'He said "no", twice,\nthen left'
    assert frame["c"][2] == "[1, 2]"


def test_export_writes_every_file_with_checksums(rated, tmp_path):
    out = tmp_path / "export"
    call_command("export_analysis", study=str(rated.pk), out=str(out), resamples=60)
    manifest = json.loads((out / "manifest.json").read_text())
    for path, entry in manifest["files"].items():
        content = (out / path).read_bytes()
        assert hashlib.sha256(content).hexdigest() == entry["sha256"]
        assert len(content) == entry["bytes"]
    assert set(manifest["files"]) | {"manifest.json"} == {
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()
    }
    assert manifest["model"]["name"] == rated.model.name
    assert [m["name"] for m in manifest["methods"]] == ["gradient", "lrp", "random"]
    assert manifest["scores"]["comprehensiveness_aopc"]["kind"] == "faithfulness"
    assert manifest["software"]["numpy"]
    assert manifest["seeds"]["study_design"] == rated.seed
    assert len(manifest["design"]["lists"]) == rated.lists.count()
    # No path of the machine that wrote it.
    assert str(tmp_path) not in (out / "manifest.json").read_text()


def test_tables_load_unchanged_and_every_column_is_explained(rated):
    analysis = study_analysis_build(study=rated, options=FAST)
    files = bundle_files(study=rated, analysis=analysis)
    codebook = files["codebook.md"].decode()
    for table in (analysis.tables.responses, analysis.tables.participants, analysis.tables.items):
        names = [c.name for c in table.columns]
        assert len(set(names)) == len(names)
        for name in names:
            assert R_NAME.match(name), name
            assert name not in R_RESERVED
            assert f"| `{name}` |" in codebook
        frame = pd.read_csv(pd.io.common.StringIO(files[f"{table.name}.csv"].decode()))
        assert list(frame.columns) == names
        assert len(frame) == len(table.rows)
    responses = pd.read_csv(pd.io.common.StringIO(files["responses.csv"].decode()))
    assert responses["included"].dtype == bool
    rows = analysis.tables.responses.rows
    assert responses["rating"].tolist() == [r["rating"] for r in rows]
    scores = responses["faithfulness__comprehensiveness_aopc"]
    assert [None if pd.isna(v) else v for v in scores] == [
        r["faithfulness__comprehensiveness_aopc"] for r in rows
    ]


def test_report_is_self_contained(rated):
    files = bundle_files(study=rated, analysis=study_analysis_build(study=rated, options=FAST))
    report = files["report.html"].decode()
    assert "<svg" in report
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", report)
    assert "<link" not in report
    assert "<script" not in report
    assert 'href="plots/ratings_by_method.png"' in report
    assert "NaN" not in report


def test_export_refuses_a_folder_in_use_and_an_unknown_study(rated, tmp_path):
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="new or empty folder"):
        call_command("export_analysis", study=str(rated.pk), out=str(used), resamples=0)
    assert [p.name for p in used.iterdir()] == ["keep.txt"]
    with pytest.raises(CommandError, match="no study"):
        call_command("export_analysis", study="no-such-study", out=str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("key", ["z" * 32, "0123456789abcdef0123456789abcdefgh-x"])
def test_export_names_study_for_a_malformed_uid(rated, tmp_path, key):
    with pytest.raises(CommandError, match=r"--study .*no study with this id, uid or name"):
        call_command("export_analysis", study=key, out=str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_export_finds_a_study_by_uid(rated, tmp_path):
    call_command("export_analysis", study=str(rated.uid), out=str(tmp_path / "x"), resamples=0)
    assert (tmp_path / "x" / "manifest.json").exists()


def test_export_refuses_bad_options_naming_the_option(rated, tmp_path):
    out = str(tmp_path / "x")
    with pytest.raises(CommandError, match=r"--seed: expected a seed >= 0, got -1"):
        call_command("export_analysis", study=str(rated.pk), out=out, seed=-1)
    with pytest.raises(CommandError, match=r"--resamples: expected 0 to 20000, got 99999"):
        call_command("export_analysis", study=str(rated.pk), out=out, resamples=99999)
    with pytest.raises(CommandError, match=r"--resampling: expected one of .*got 'rows'"):
        call_command("export_analysis", study=str(rated.pk), out=out, resampling="rows")
    with pytest.raises(CommandError, match=r"--interval"):
        call_command("export_analysis", "--study", str(rated.pk), "--out", out, "--interval=bca")
    assert not (tmp_path / "x").exists()


def test_export_uses_and_records_every_option(rated, tmp_path):
    out = tmp_path / "x"
    call_command(
        "export_analysis",
        "--study",
        str(rated.pk),
        "--out",
        str(out),
        "--resamples=20",
        "--seed=7",
        "--level=0.9",
        "--resampling=participant",
        "--interval=percentile",
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["analysis"]["options"] == {
        "n_resamples": 20,
        "level": 0.9,
        "resampling": "participant",
        "interval": "percentile",
        "seed": 7,
    }
    assert manifest["rerun"] == (
        f"python manage.py export_analysis --study {rated.pk} --out DIR --resamples 20 "
        "--seed 7 --level 0.9 --resampling participant --interval percentile"
    )


def test_bundle_svgs_are_the_analysis_plots_not_drawn_again(rated, monkeypatch):
    analysis = study_analysis_build(study=rated, options=FAST)
    drawn: list[str] = []
    original = bundle.plot_render

    def render(spec, *, name, fmt):
        drawn.append(fmt)
        return original(spec, name=name, fmt=fmt)

    monkeypatch.setattr(bundle, "plot_render", render)
    files = bundle_files(study=rated, analysis=analysis)
    assert analysis.results["plots"]
    assert drawn == ["png"] * len(analysis.results["plots"])
    for name, spec in analysis.results["plots"].items():
        svg = files[f"plots/{name}.svg"]
        assert svg == original(spec, name=name, fmt="svg")
        assert svg.startswith(b"<?xml")
        assert svg.decode().endswith(analysis.svgs[name])
        assert analysis.svgs[name].startswith("<svg")


def test_manifest_counts_list_items_in_one_query(rated):
    with CaptureQueriesContext(connection) as queries:
        design = bundle._design(rated)
    assert [lst["n_items"] for lst in design["lists"]] == [
        lst.items.count() for lst in rated.lists.order_by("index")
    ]
    assert len(design["lists"]) > 1
    assert sum("studies_studylist_items" in q["sql"] for q in queries.captured_queries) == 1


def test_manifest_reads_explanation_parameters_from_the_frozen_snapshot(rated):
    frozen = bundle._methods(rated)
    shown = Explanation.objects.filter(study_items__study=rated)
    assert {m["name"]: m["explanation_parameters"] for m in frozen} == {
        name: [{}] for name in ["gradient", "lrp", "random"]
    }
    assert all("parameters" in e for i in rated.items.all() for e in i.frozen["explanations"])
    shown.update(parameters={"steps": 999})  # recomputed after launch
    assert bundle._methods(rated) == frozen
