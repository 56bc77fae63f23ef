"""The analysis of forward-simulation studies (see :mod:`analysis.types.simulation`)."""

from analysis.types.base import register
from analysis.types.simulation import SimulationAnalysis


@register
class ForwardSimulationAnalysis(SimulationAnalysis):
    study_type = "forward_simulation"
    section_title = "Forward simulation"
