"""How the model under test was trained: reproduced by Wiegreffe & Pinter's tests.

Wiegreffe & Pinter (2019) compare the model under test with models trained the same
way but for one change (uniform attention, another seed, an adversarial loss, a
context-free MLP). A :class:`Recipe` holds what :func:`train_classifier` needs to
train them on the same examples, with the same held-out split, so that every F1 in
their tables is measured on the instances the model under test never trained on.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from explanations.compute.architectures import resolve_config
from explanations.compute.training import (
    Example,
    ProgressCallback,
    TrainResult,
    stratified_split,
    train_classifier,
)

StepProgress = Callable[[int, int, str], None]
"""``progress(done, total, what)``: a job's progress across all the trainings of a test."""

SETTINGS: tuple[str, ...] = ("epochs", "batch_size", "lr", "patience", "val_fraction")
_DEFAULT_EPOCHS = 20


@dataclass(frozen=True)
class Recipe:
    """The base model's training: config, examples (in training order), seeds, settings.

    ``examples`` are all the labelled examples the base model was trained and validated
    on, in the order :func:`explanations.services.modeling.model_train` passed them;
    ``seed`` is the base model's seed, which also drew its held-out split.
    ``settings`` are further keyword arguments of ``train_classifier`` (``epochs``,
    ``batch_size``, ``lr``, ``patience``, ``val_fraction``).
    """

    config: Mapping[str, Any]
    examples: Sequence[Example]
    seed: int = 0
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse settings ``train_classifier`` does not take, naming them."""
        unknown = sorted(set(self.settings) - set(SETTINGS))
        if unknown:
            raise ValueError(
                f"recipe settings {', '.join(unknown)} unknown; expected some of "
                f"{', '.join(SETTINGS)}"
            )

    @property
    def epochs(self) -> int:
        """Return the base model's epoch budget (``train_classifier``'s default unless set)."""
        return int(self.settings.get("epochs", _DEFAULT_EPOCHS))

    def resolved_config(self) -> dict[str, Any]:
        """Return the config with every default filled in (as on the trained model)."""
        return resolve_config(self.config)

    @property
    def val_fraction(self) -> float:
        """Return the held-out fraction the base model was trained with."""
        return float(self.settings.get("val_fraction", 0.2))

    def split(self) -> tuple[list[int], list[int]]:
        """Return the base model's (train, held-out) example indices."""
        labels = [e.label for e in self.examples]
        return stratified_split(labels, self.val_fraction, self.seed)

    def held_out(self) -> list[Example]:
        """Return the held-out examples, the ones every W&P figure is measured on."""
        return [self.examples[i] for i in self.split()[1]]

    def train(
        self,
        *,
        config: Mapping[str, Any] | None = None,
        seed: int | None = None,
        progress: ProgressCallback | None = None,
        **changes: Any,
    ) -> TrainResult:
        """Train like the base model but for ``changes``, always on the base model's split.

        ``config`` and ``seed`` replace the recipe's (the seed draws the weights and
        batch order only: the held-out split stays the base seed's); further keyword
        arguments override ``settings`` or reach ``train_classifier`` (``loss_fn``,
        ``select_on``).
        """
        return train_classifier(
            self.config if config is None else config,
            self.examples,
            **{**self.settings, **changes},
            seed=self.seed if seed is None else seed,
            split_seed=self.seed,
            progress=progress,
        )
