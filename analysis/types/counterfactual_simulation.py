"""The analysis of counterfactual-simulation studies (see :mod:`analysis.types.simulation`)."""

from analysis.types.base import register
from analysis.types.simulation import SimulationAnalysis


@register
class CounterfactualSimulationAnalysis(SimulationAnalysis):
    study_type = "counterfactual_simulation"
    section_title = "Counterfactual simulation"
