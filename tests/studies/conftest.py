import pytest

from .factories import film_corpus


@pytest.fixture
def corpus(tmp_path, researcher):
    """A dataset of 24 reviews owned by ``researcher``, with a model, predictions,
    explanations by three methods and one faithfulness score per explanation."""
    return film_corpus(tmp_path, owner=researcher, n=24)
