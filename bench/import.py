"""Import throughput: 100,000 instances and 500,000 explanation rows into SQLite and PostgreSQL.

Run: ``python -m bench.import`` (``--quick`` for a 10x smaller smoke run).
Each backend runs in its own process on a fresh database (SQLite in a temporary folder;
PostgreSQL database ``elephant_bench``, dropped and created, at ``BENCH_POSTGRES_URL`` or
the local server). Target from the issue: at least 50,000 explanation rows/s into PostgreSQL.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

METHODS = ["gradient", "grad_input", "integrated_gradients", "occlusion", "random"]
WORDS = [
    "the",
    "a",
    "film",
    "plot",
    "was",
    "great",
    "dull",
    "actor",
    "scene",
    "story",
    "ending",
    "good",
    "bad",
    "music",
    "slow",
    "fast",
    "warm",
    "cold",
]
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/elephant_bench"
)


def write_inputs(folder: Path, n_instances: int) -> tuple[Path, Path]:
    """Write a dataset file and an explanation file (five methods per instance)."""
    rng = random.Random(0)
    lengths = [rng.randint(8, 20) for _ in range(n_instances)]
    dataset = folder / "dataset.jsonl"
    with dataset.open("w", encoding="utf-8") as out:
        for i, n in enumerate(lengths):
            text = " ".join(rng.choice(WORDS) for _ in range(n))
            out.write(
                json.dumps({"id": f"i{i}", "text": text, "label": rng.choice(["neg", "pos"])})
                + "\n"
            )
    explanations = folder / "explanations.jsonl"
    with explanations.open("w", encoding="utf-8") as out:
        for method in METHODS:
            for i, n in enumerate(lengths):
                scores = [round(rng.uniform(-1, 1), 6) for _ in range(n)]
                out.write(
                    json.dumps(
                        {"instance": f"i{i}", "method": method, "scores": scores, "params": {}}
                    )
                    + "\n"
                )
    return dataset, explanations


def run_backend(dataset: Path, explanations: Path) -> dict[str, float]:
    """Migrate a fresh database and time both imports (runs inside the child process)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command

    from explanations.models import Dataset, Explanation
    from explanations.services.datasets import dataset_import
    from explanations.services.explanations import explanations_import

    call_command("migrate", verbosity=0)
    start = time.perf_counter()
    result = dataset_import(path=dataset, name="bench")
    instance_seconds = time.perf_counter() - start
    start = time.perf_counter()
    written = explanations_import(
        path=explanations, model_name="bench-model", dataset=Dataset.objects.get(name="bench")
    )
    explanation_seconds = time.perf_counter() - start
    assert Explanation.objects.count() == written.written
    return {
        "instances": result.created,
        "instance_seconds": instance_seconds,
        "explanations": written.written,
        "explanation_seconds": explanation_seconds,
    }


def fresh_postgres() -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    admin_url = POSTGRES_URL.rsplit("/", 1)[0] + "/postgres"
    name = POSTGRES_URL.rsplit("/", 1)[1]
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL unreachable ({exc}); skipping it.", file=sys.stderr)
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="10,000 instances, 50,000 explanations"
    )
    parser.add_argument(
        "--child", nargs=2, metavar=("DATASET", "EXPLANATIONS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_backend(Path(args.child[0]), Path(args.child[1]))))
        return
    n = 10_000 if args.quick else 100_000
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"Writing {n:,} instances and {n * len(METHODS):,} explanation rows ...", flush=True)
        dataset, explanations = write_inputs(folder, n)
        backends = {"sqlite": {"ELEPHANT_VAR_DIR": str(folder / "var"), "DATABASE_URL": ""}}
        if fresh_postgres():
            backends["postgresql"] = {
                "ELEPHANT_VAR_DIR": str(folder / "var-pg"),
                "DATABASE_URL": POSTGRES_URL,
            }
        rows = []
        for backend, env in backends.items():
            print(f"Importing into {backend} ...", flush=True)
            child = subprocess.run(
                [sys.executable, "-m", "bench.import", "--child", str(dataset), str(explanations)],
                cwd=root,
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                check=False,
            )
            if child.returncode != 0:
                print(child.stderr, file=sys.stderr)
                raise SystemExit(f"{backend} import failed")
            rows.append((backend, json.loads(child.stdout.strip().splitlines()[-1])))
    print()
    print(
        f"{'backend':<12}{'instances/s':>14}{'explanation rows/s':>22}{'explanations':>15}{'seconds':>10}"
    )
    for backend, r in rows:
        print(
            f"{backend:<12}{r['instances'] / r['instance_seconds']:>14,.0f}"
            f"{r['explanations'] / r['explanation_seconds']:>22,.0f}{r['explanations']:>15,}"
            f"{r['explanation_seconds']:>10.1f}"
        )
    print("Target: at least 50,000 explanation rows/s into PostgreSQL (peer: the issue's target).")


if __name__ == "__main__":
    main()
