"""Plausibility ratings as a long table of plain arrays, checked once on construction."""

from dataclasses import dataclass, field

import numpy as np

from analysis.compute.arrays import (
    FloatArray,
    IntArray,
    check_names,
    dense_codes,
    float_array,
    index_array,
    same_length,
)


@dataclass(frozen=True)
class RatingAnswers:
    """Plausibility ratings, one row per answer, with the explanations they rate.

    Per answer ``a``: ``participant[a]`` (any non-negative ids), ``explanation[a]``
    (index into the per-explanation arrays) and ``rating[a]``. Per explanation
    ``e``: ``explanation_item[e]``, the item (the instance and prediction shown), and
    ``explanation_method[e]``, an index into ``method_names``. Explanations of one
    item by different methods share that item, so the item bootstrap moves them
    together. Construction raises ``ValueError`` naming the bad argument.
    """

    participant: IntArray
    explanation: IntArray
    rating: FloatArray
    explanation_item: IntArray
    explanation_method: IntArray
    method_names: tuple[str, ...]
    participant_code: IntArray = field(init=False, repr=False)
    item_code: IntArray = field(init=False, repr=False)
    explanation_item_code: IntArray = field(init=False, repr=False)
    n_participants: int = field(init=False)
    n_items: int = field(init=False)

    def __post_init__(self) -> None:
        """Check and coerce the arrays; number participants and items densely."""
        explanation_item = index_array("explanation_item", self.explanation_item)
        explanation_method = index_array("explanation_method", self.explanation_method)
        n_explanations = same_length(
            explanation_item=explanation_item, explanation_method=explanation_method
        )
        method_names = tuple(self.method_names)
        if n_explanations:
            check_names("method_names", method_names, int(explanation_method.max()) + 1)
        participant = index_array("participant", self.participant)
        explanation = index_array("explanation", self.explanation, bound=n_explanations)
        rating = float_array("rating", self.rating)
        same_length(participant=participant, explanation=explanation, rating=rating)
        participant_code, n_participants = dense_codes(participant)
        rated_items = np.unique(explanation_item[explanation])
        n_items = int(rated_items.size)
        # Dense item code of every explanation; -1 if nobody rated anything on its item.
        position = np.searchsorted(rated_items, explanation_item)
        found = position < n_items
        found[found] = rated_items[position[found]] == explanation_item[found]
        explanation_item_code = np.where(found, position, -1).astype(np.int64)
        item_code = explanation_item_code[explanation]
        for name, value in (
            ("participant", participant),
            ("explanation", explanation),
            ("rating", rating),
            ("explanation_item", explanation_item),
            ("explanation_method", explanation_method),
            ("method_names", method_names),
            ("participant_code", participant_code),
            ("item_code", item_code),
            ("explanation_item_code", explanation_item_code),
            ("n_participants", n_participants),
            ("n_items", n_items),
        ):
            object.__setattr__(self, name, value)

    @property
    def n_answers(self) -> int:
        """Return the number of answers."""
        return int(self.rating.size)

    @property
    def n_explanations(self) -> int:
        """Return the number of explanations (rated or not)."""
        return int(self.explanation_item.size)

    @property
    def method(self) -> IntArray:
        """Return the method index of every answer."""
        method: IntArray = self.explanation_method[self.explanation]
        return method

    def explanation_means(self) -> tuple[FloatArray, FloatArray]:
        """Return the mean rating and the number of answers of every explanation.

        The mean is NaN for an explanation nobody rated (its count is 0).
        """
        counts = np.bincount(self.explanation, minlength=self.n_explanations).astype(np.float64)
        sums = np.bincount(self.explanation, weights=self.rating, minlength=self.n_explanations)
        means = np.full(self.n_explanations, np.nan)
        np.divide(sums, counts, out=means, where=counts > 0)
        return means, counts
