"""Wiegreffe & Pinter's diagnostic MLP (2019, section 3.3): attention guiding a context-free model.

A token-wise MLP has no context across tokens: each token's state is
``h_i = tanh(W x_i + b)`` of its own embedding ``x_i`` only, and the output is a
linear read-out of the attention-weighted sum ``W_o sum_i a_i h_i + b_o``. A token
therefore reaches the output only through its own weight, so the F1 such a model
reaches with given weights says how much those weights alone carry. Three variants
share everything but where the weights come from:

* ``trained``: its own additive attention over the token states, trained with it
  (``e_i = v^T tanh(W_a h_i + b_a)``, softmax over the real tokens);
* ``uniform``: 1/n over the n real tokens;
* ``imported``: the weights of the model under test on each instance, frozen.

This follows sarahwie/attention: ``model/modules/Encoder.py::EncoderAverage``
(embedding, ``Linear`` projection, ``tanh``; ``configurations.py`` sets
``projection`` and ``activation: tanh`` for ``--encoder average``), the decoders of
``model/modules/Decoder.py`` (``AttnDecoder`` with ``TanhAttention`` of hidden
size ``H // 2``, ``FrozenAttnDecoder`` for uniform weights,
``PretrainedWeightsAttnDecoder`` for the imported ones) and
``run_bows_{baselines,frozen_attn,set_to_pretrained_distribution}.sh``. Their MLP
has the LSTM's hidden size (one ``--hidden_size`` for both), so ours takes the base
model's ``hidden_dim``; like theirs it has no dropout.

Embeddings. W&P initialise both the LSTM and the MLP with the dataset's pretrained
word vectors (``Trainer`` passes ``pre_embed=dataset.vec.embeddings`` to either
encoder) and fine-tune them; the MLP never sees the trained LSTM's embeddings. Our
models have no pretrained vectors: they start from their seed's random embeddings.
So by default (``embeddings="initial"``) the MLP starts from exactly the embeddings
the base model started from (drawn again from the base model's seed), and
fine-tunes them; ``embeddings="trained"`` starts from the base model's trained
embeddings instead (not W&P's setting: it hands the MLP what the base model learnt).

Pairs. W&P ran the MLP on single-text tasks only. For a pair model we keep the
base BiLSTM's pair decoder (J&W's) and replace its encoder by the token-wise MLP on
both texts: the query ``q`` is the mean of the context's token states (a bag of
words, no context across tokens either), the trained attention scores are
``v^T tanh(W_a h_i + W_q q + b_a)`` and the output is ``W_o tanh(W_c c + W_p q + b)
+ b_o``. The explained tokens still reach the output only through their weights.

Training follows the base model's, as W&P train their MLP with their LSTM's
optimiser and settings (Adam with amsgrad, lr 1e-3, 8 epochs): here Adam on the
cross-entropy with ``train_classifier``'s gradient clipping, the base model's learning rate, batch size, epochs and
patience, seeded batch order, the best epoch by held-out macro-F1 kept (as
:func:`~explanations.compute.training.train_classifier` kept the base model's, and
as W&P keep the best epoch on their held-out metric). The F1 table is measured on
the base model's held-out examples (:meth:`Recipe.held_out`), which no variant and
not the base model trained on.

Modules: :mod:`.model` (the MLP), :mod:`.fitting` (training one variant),
:mod:`.table` (the F1 table); the MLP's intervention, for the permutation and
zeroing diagnostics, is :class:`~..intervention.DiagnosticMLPIntervention`.
"""

from explanations.compute.diagnostics.diagnostic_mlp.fitting import (
    Fitted,
    MLPTraining,
    example_attention,
    train_diagnostic_mlp,
)
from explanations.compute.diagnostics.diagnostic_mlp.model import (
    ATTENTION_MODES,
    AttentionSource,
    DiagnosticMLP,
    attention_of,
    checked_weights,
)
from explanations.compute.diagnostics.diagnostic_mlp.table import (
    EMBEDDING_STARTS,
    MLPRow,
    MLPTable,
    base_predictions,
    diagnostic_mlp_table,
    starting_embeddings,
)

__all__ = [
    "ATTENTION_MODES",
    "EMBEDDING_STARTS",
    "AttentionSource",
    "DiagnosticMLP",
    "Fitted",
    "MLPRow",
    "MLPTable",
    "MLPTraining",
    "attention_of",
    "base_predictions",
    "checked_weights",
    "diagnostic_mlp_table",
    "example_attention",
    "starting_embeddings",
    "train_diagnostic_mlp",
]
