"""The platform's one tokenizer.

Every text is tokenised exactly once, at import, by :func:`tokenize`; explanations,
rationales and scores all index into the tokens it returns. The rule is
deterministic and language-agnostic:

* a token is a run of word characters (``\\w``, Unicode-aware), optionally joined
  by single inner apostrophes or hyphens (``don't``, ``state-of-the-art``), or
* a single non-space, non-word character (punctuation, symbols).

Case is kept in the token; models lower-case when they build a vocabulary.
Offsets are ``[start, end)`` character offsets into the original text, so
``text[start:end] == token`` always holds.
"""

import re

TOKEN_PATTERN = re.compile(r"\w+(?:['\u2019-]\w+)*|[^\w\s]")


def tokenize(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Return the tokens of ``text`` and their ``(start, end)`` character offsets."""
    tokens: list[str] = []
    offsets: list[tuple[int, int]] = []
    for match in TOKEN_PATTERN.finditer(text):
        tokens.append(match.group())
        offsets.append((match.start(), match.end()))
    return tokens, offsets
