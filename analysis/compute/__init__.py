"""Statistics for plausibility studies: pure numpy/scipy/statsmodels, no django.

Inputs are plain arrays or small frozen dataclasses (long tables of answers);
outputs are frozen dataclasses whose ``to_dict()`` is JSON-safe: an undefined number
is None with a reason, never NaN. Modules, by role:

* ``agreement``: Krippendorff's alpha (nominal, ordinal, interval, ratio);
* ``bootstrap``: two-way cluster (participants x items) bootstrap and intervals;
* ``rank``: weighted Spearman / Kendall tau-b used inside the bootstrap;
* ``answers``: the rating table shared by ``ratings``, ``correlation``, ``mixed_model``;
* ``ratings``: mean rating per method; ``correlation``: plausibility vs faithfulness;
* ``mixed_model``: ``rating ~ faithfulness + method + (1|participant) + (1|item)``;
* ``bradley_terry``: pairwise preferences; ``simulation``: simulatability;
* ``aided``: aided-task accuracy, reliance and time; ``rationales``: human
  rationales; ``review``: expert review summaries.
* ``power``: power by simulation of a rating study, fitted by the fast Wald tests
  of ``crossed_wald``.

Submodules are imported explicitly (``from analysis.compute.agreement import ...``)
so that using one does not load statsmodels for all.
"""
