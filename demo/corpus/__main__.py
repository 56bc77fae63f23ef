"""Rewrite the demo datasets: ``python -m demo.corpus``."""

from demo.corpus import DEMO_DATA, corpus_write

if __name__ == "__main__":
    corpus_write()
    print(f"wrote {DEMO_DATA / 'sentiment.jsonl'} and {DEMO_DATA / 'nli.jsonl'}")
