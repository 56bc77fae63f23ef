"""Studies with answers, built through the services real participants go through."""

import pytest

from analysis.services.options import AnalysisOptions
from analysis.services.simulated import participants_simulate
from tests.studies.factories import film_corpus, make_study

# Few resamples keep the tests fast; the numbers are checked against references, not CIs.
FAST = AnalysisOptions(n_resamples=60)


@pytest.fixture
def corpus(tmp_path, researcher):
    """40 reviews with a model, predictions, three methods' explanations and a score each."""
    return film_corpus(tmp_path, owner=researcher)


@pytest.fixture
def rating_study(corpus, researcher):
    """A live plausibility-rating study (gradient, lrp, random): 3 lists x 4 places."""
    dataset, model = corpus
    return make_study(researcher, dataset, model, ratings_per_item=4)


@pytest.fixture
def rated(rating_study):
    """The rating study answered by 7 simulated participants."""
    participants_simulate(study=rating_study, n=7, seed=3)
    return rating_study
