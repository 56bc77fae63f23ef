"""``power_analysis``: how many participants and items a plausibility-rating study needs."""

import csv
import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.compute.power import PowerModel
from analysis.management.commands.export_analysis import find_study
from analysis.services.inputs import CONTROL_METHOD
from analysis.services.power import (
    Pilot,
    power_analysis_run,
    power_designs,
    power_model_override,
    power_pilot_estimate,
)
from explanations.management.progress import progress_bar

# Command-line flag -> PowerModel field, for the assumed values.
ASSUMED = {
    "intercept": "intercept",
    "faithfulness_slope": "faithfulness_slope",
    "sd_participant": "sd_participant",
    "sd_item": "sd_item",
    "sd_residual": "sd_residual",
}


def _integers(flag: str, text: str) -> list[int]:
    """Return a comma-separated list of whole numbers >= 1; raise CommandError naming the flag."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CommandError(
            f"--{flag}: expected whole numbers separated by commas, got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise CommandError(f"--{flag}: expected whole numbers >= 1, got {text!r}")
    return sorted(set(values))


def _effects(text: str) -> dict[str, float]:
    """Return ``name=value,...`` as a dict; raise CommandError naming --method-effects."""
    found: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        try:
            found[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise CommandError(
                f"--method-effects: expected method=number pairs separated by commas, got {part!r}"
            )
    return found


def _scale(text: str) -> tuple[int, int] | None:
    """Return ``low,high`` as a pair, or None for ``continuous``."""
    if text == "continuous":
        return None
    try:
        low, high = (int(v) for v in text.split(","))
    except ValueError:
        raise CommandError(
            f"--scale: expected low,high (e.g. 1,7) or 'continuous', got {text!r}"
        ) from None
    if low >= high:
        raise CommandError(f"--scale: expected low < high, got {text!r}")
    return low, high


def _fail(exc: ValidationError) -> CommandError:
    """Return a CommandError naming each field of ``exc`` as its command-line flag."""
    if hasattr(exc, "error_dict"):
        return CommandError(
            "; ".join(
                f"--{field.replace('_', '-')}: {' '.join(messages)}"
                for field, messages in exc.message_dict.items()
            )
        )
    return CommandError(" ".join(exc.messages))


class Command(BaseCommand):
    help = (
        "Power by simulation for a plausibility-rating study: from a pilot study's answers "
        "(--study) or assumed effects, simulate the study under the crossed random-effects "
        "model at several sizes and report the power of the faithfulness and method tests, "
        "with the smallest size reaching the target power."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--study", help="Pilot study id, uid or name (plausibility rating).")
        parser.add_argument("--metric", help="Faithfulness metric of the pilot (default: first).")
        parser.add_argument(
            "--methods",
            default=f"method_a,method_b,{CONTROL_METHOD}",
            help="Without a pilot: method names, comma-separated.",
        )
        parser.add_argument(
            "--reference",
            help=f"Without a pilot: reference method (default {CONTROL_METHOD!r} if listed, "
            "else the first).",
        )
        parser.add_argument(
            "--method-effects",
            help="Assumed differences to the reference, e.g. 'lrp=0.3,gradient=0.2' (rating points).",
        )
        parser.add_argument(
            "--faithfulness-slope",
            type=float,
            help="Assumed rating points per standard deviation of faithfulness.",
        )
        parser.add_argument("--intercept", type=float, help="Assumed mean latent rating.")
        parser.add_argument("--sd-participant", type=float, help="Assumed participant sd.")
        parser.add_argument("--sd-item", type=float, help="Assumed item sd.")
        parser.add_argument("--sd-residual", type=float, help="Assumed residual sd.")
        parser.add_argument(
            "--scale", help="Rating scale 'low,high' (ratings rounded) or 'continuous'."
        )
        parser.add_argument("--participants", default="20,50,100,200", help="Grid of participants.")
        parser.add_argument(
            "--items-per-participant",
            default=None,
            help="Grid of test trials per participant (default: the pilot's, else 20).",
        )
        parser.add_argument(
            "--items",
            type=int,
            help="Test instances per study (default: the pilot's, else the items per participant).",
        )
        parser.add_argument("--studies", type=int, default=1000, help="Simulated studies per size.")
        parser.add_argument("--alpha", type=float, default=0.05, help="Significance level.")
        parser.add_argument("--target", type=float, default=0.8, help="Target power.")
        parser.add_argument("--seed", type=int, default=0, help="Simulation seed.")
        parser.add_argument("--json", type=Path, help="Write the full result as JSON here.")
        parser.add_argument("--csv", type=Path, help="Write one row per size and test here.")

    def handle(self, *args: Any, **options: Any) -> None:
        pilot = self._pilot(options)
        model = pilot.model if pilot else self._assumed_model(options)
        assumed: dict[str, Any] = {
            field: options[flag] for flag, field in ASSUMED.items() if options[flag] is not None
        }
        if options["method_effects"]:
            assumed["method_effects"] = _effects(options["method_effects"])
        if options["scale"]:
            assumed["scale"] = _scale(options["scale"])
        try:
            model = power_model_override(model, assumed)
            per = options["items_per_participant"] or str(
                pilot.items_per_participant if pilot else 20
            )
            designs = power_designs(
                participants=_integers("participants", options["participants"]),
                items_per_participant=_integers("items-per-participant", per),
                n_items=options["items"] or (pilot.n_items if pilot else None),
                n_methods=len(model.method_names),
            )
            with progress_bar(self.stderr, disable=options["verbosity"] == 0) as progress:
                result = power_analysis_run(
                    model=model,
                    designs=designs,
                    n_studies=options["studies"],
                    alpha=options["alpha"],
                    target=options["target"],
                    seed=options["seed"],
                    pilot=pilot,
                    progress=progress,
                )
        except ValidationError as exc:
            raise _fail(exc) from None
        self._print(result)
        if options["json"]:
            options["json"].write_text(
                json.dumps(result, indent=2, allow_nan=False) + "\n", encoding="utf-8"
            )
            self.stdout.write(f"Wrote {options['json']}")
        if options["csv"]:
            _write_csv(options["csv"], result)
            self.stdout.write(f"Wrote {options['csv']}")

    def _pilot(self, options: dict[str, Any]) -> Pilot | None:
        if not options["study"]:
            if options["metric"]:
                raise CommandError("--metric: only with --study (a pilot's faithfulness metric)")
            return None
        study = find_study(options["study"])
        try:
            return power_pilot_estimate(study=study, metric=options["metric"])
        except ValidationError as exc:
            raise _fail(exc) from None

    def _assumed_model(self, options: dict[str, Any]) -> PowerModel:
        names = tuple(n.strip() for n in options["methods"].split(",") if n.strip())
        if not names or len(set(names)) != len(names):
            raise CommandError(f"--methods: expected distinct names, got {options['methods']!r}")
        reference = options["reference"] or (
            CONTROL_METHOD if CONTROL_METHOD in names else names[0]
        )
        if reference not in names:
            raise CommandError(f"--reference: {reference!r} is not one of --methods {names}")
        missing = [
            f"--{flag.replace('_', '-')}"
            for flag in ("faithfulness_slope", "method_effects")
            if options[flag] is None
        ]
        if missing:
            raise CommandError(
                f"{', '.join(missing)}: required without --study (the effects to detect)"
            )
        return PowerModel(
            method_names=names,
            reference_method=reference,
            intercept=4.0,
            method_effects=(0.0,) * len(names),
            faithfulness_slope=0.0,
            faithfulness_mean=(0.0,) * len(names),
            faithfulness_sd=(1.0,) * len(names),
            sd_participant=0.5,
            sd_item=0.4,
            sd_residual=1.0,
            scale=(1, 7),
        )

    def _print(self, result: dict[str, Any]) -> None:
        model = result["model"]
        scale = model["scale"]
        self.stdout.write(
            f"Model: slope {model['faithfulness_slope']:.3f} per SD of faithfulness; method "
            "effects vs "
            f"{model['reference_method']}: "
            + ", ".join(
                f"{m} {e:+.3f}"
                for m, e in zip(model["method_names"], model["method_effects"], strict=True)
                if m != model["reference_method"]
            )
            + f"; sd participant {model['sd_participant']:.3f}, item {model['sd_item']:.3f}, "
            f"residual {model['sd_residual']:.3f}; scale "
            + ("continuous" if scale is None else f"{scale[0]}-{scale[1]}, rounded")
        )
        self.stdout.write(
            f"Power at alpha {result['alpha']} from {result['n_studies']} simulated studies "
            "per size (Monte-Carlo standard error in brackets):"
        )
        tests = result["tests"]
        header = ["participants", "items/person", "items", "answers", *tests]
        rows = []
        for cell in result["cells"]:
            design = cell["design"]
            found = {t["test"]: t for t in cell["tests"]}
            rows.append(
                [
                    str(design["n_participants"]),
                    str(design["items_per_participant"]),
                    str(design["n_items"]),
                    str(cell["n_answers"]),
                    *(_power(found.get(t)) for t in tests),
                ]
            )
        widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write("  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))
        for name, rec in result["recommendations"].items():
            label = "primary (" + " and ".join(rec["tests"]) + ")" if name == "primary" else name
            if rec["design"] is None:
                self.stdout.write(f"Recommended for {label}: none. {rec['reason']}")
            else:
                d = rec["design"]
                self.stdout.write(
                    f"Recommended for {label} (power >= {rec['target']}): "
                    f"{d['n_participants']} participants x {d['items_per_participant']} items "
                    f"of {d['n_items']}"
                )


def _power(test: dict[str, Any] | None) -> str:
    if test is None or test["power"] is None:
        return "n/a"
    return f"{test['power']:.3f} ({test['mc_se']:.3f})"


def _write_csv(path: Path, result: dict[str, Any]) -> None:
    """Write one row per design and test."""
    columns = [
        "n_participants",
        "items_per_participant",
        "n_items",
        "n_methods",
        "n_answers",
        "test",
        "effect",
        "power",
        "mc_se",
        "n_studies",
        "n_failed",
        "alpha",
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for cell in result["cells"]:
            for test in cell["tests"]:
                writer.writerow(
                    {
                        **cell["design"],
                        "n_answers": cell["n_answers"],
                        **test,
                        "alpha": result["alpha"],
                    }
                )
