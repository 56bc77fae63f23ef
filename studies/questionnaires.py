"""Post-study questionnaire presets.

``explanation_satisfaction``: the Explanation Satisfaction Scale of Hoffman, Mueller, Klein
and Litman (2018), "Metrics for Explainable AI: Challenges and Prospects", arXiv:1812.04608,
Appendix; eight statements on a 5-point agreement scale, with "the model" in place of
"[the software, algorithm, tool]".
"""

from typing import Any

AGREE_LOW = "I disagree strongly"
AGREE_HIGH = "I agree strongly"

EXPLANATION_SATISFACTION: list[str] = [
    "From the explanations, I understand how the model works.",
    "These explanations of how the model works are satisfying.",
    "These explanations of how the model works have sufficient detail.",
    "These explanations of how the model works seem complete.",
    "These explanations of how the model works tell me how to use it.",
    "These explanations of how the model works are useful to my goals.",
    "These explanations of the model show me how accurate the model is.",
    "These explanations let me judge when I should trust and not trust the model.",
]


def preset(name: str) -> list[dict[str, Any]]:
    """Return the questionnaire items of preset ``name``; raise KeyError naming the known ones."""
    if name == "explanation_satisfaction":
        return [
            {
                "key": f"ess_{k}",
                "kind": "likert",
                "prompt": prompt,
                "points": 5,
                "low_label": AGREE_LOW,
                "high_label": AGREE_HIGH,
                "required": True,
            }
            for k, prompt in enumerate(EXPLANATION_SATISFACTION, start=1)
        ]
    raise KeyError(f"unknown questionnaire preset {name!r}; expected explanation_satisfaction")


PRESETS = {"explanation_satisfaction": "Explanation Satisfaction Scale (Hoffman et al. 2018)"}
