"""Training time of the demo-size BiLSTM attention model on the demo dataset (2 threads).

Run: ``python -m bench.training``. The issue's budget: under a minute on 2 CPU cores, and
better than the majority-class baseline on held-out data (the test suite checks the
latter; time is measured here, never asserted in a test).
"""

import json
import time
from pathlib import Path

import torch

from explanations.compute.tokenize import tokenize
from explanations.compute.training import Example, train_classifier
from explanations.compute.vocab import Vocabulary

DATA = Path(__file__).resolve().parents[1] / "explanations" / "demo" / "sentiment.jsonl"


def main() -> None:
    torch.set_num_threads(2)
    records = [
        json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    tokens = [tokenize(r["text"])[0] for r in records]
    labels = sorted({r["label"] for r in records})
    vocab = Vocabulary.build(tokens)
    examples = [
        Example(tokens=vocab.encode(t), label=labels.index(r["label"]))
        for t, r in zip(tokens, records, strict=True)
    ]
    config = {
        "architecture": "bilstm_attention",
        "vocab_size": len(vocab),
        "num_labels": len(labels),
        "pair": False,
    }
    began = time.perf_counter()
    result = train_classifier(config, examples, seed=0)
    seconds = time.perf_counter() - began
    m = result.metrics
    print(f"{'workload':<36}{'seconds':>9}{'epochs':>8}{'held-out acc':>14}{'majority':>10}")
    print(
        f"{'demo BiLSTM, ' + str(len(examples)) + ' texts':<36}{seconds:>9.1f}{m['epochs_run']:>8}{m['accuracy']:>14.3f}{m['majority_baseline']:>10.3f}"
    )
    print("Budget: under 60 s on 2 CPU cores.")


if __name__ == "__main__":
    main()
