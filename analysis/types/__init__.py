"""Each study type's analysis: one module per type, ``analysis/types/<type>.py``.

A module registers an :class:`~analysis.types.base.AnalysisType` holding the type's
results section and its simulated answerer. ``AnalysisConfig.ready()`` imports every
module of this package, then an ``analysis_types`` module of any installed app (the way
``django.contrib.admin`` discovers ``admin`` modules), so a study type added by another
package brings its analysis with it. The system check ``analysis.E001`` says which study
type lacks which piece. This package imports none of its modules itself: discovery does.
"""
