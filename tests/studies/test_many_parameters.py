"""PostgreSQL takes at most 65,535 parameters in one statement when they are bound on the
server. Only the compiled participant queries bind there (studies.compiled); everything
else keeps client-side binding, with no such limit: designing a study over a dataset of
more than 65,535 explained instances reads its candidates with long ``__in`` lists
(studies.services.design._candidates)."""

import pytest
from django.db import connection

from explanations.models import ExplanationMethod

from .factories import make_study

pytestmark = [pytest.mark.requires_postgres, pytest.mark.django_db]

PROTOCOL_LIMIT = 65535


def test_a_study_over_a_large_dataset_can_be_designed(researcher, corpus):
    dataset, model = corpus
    method = ExplanationMethod.objects.get(name="gradient")
    start = dataset.instances.count()
    with connection.cursor() as cursor:  # more explained, predicted instances than the limit
        cursor.execute(
            "INSERT INTO explanations_instance (dataset_id, external_id, position, split, text,"
            " text_b, tokens, token_offsets, tokens_b, token_offsets_b, gold_label)"
            " SELECT %s, 'x' || k, %s + k, '', 'a b', '', '[\"a\", \"b\"]', '[[0, 1], [2, 3]]',"
            " '[]', '[]', k %% 2 FROM generate_series(0, %s) AS k",
            [dataset.pk, start, PROTOCOL_LIMIT],
        )
        cursor.execute(
            "INSERT INTO explanations_prediction (model_id, instance_id, label, probabilities,"
            " created_at) SELECT %s, id, 1, '[0.3, 0.7]', now() FROM explanations_instance"
            " WHERE dataset_id = %s AND position >= %s",
            [model.pk, dataset.pk, start],
        )
        cursor.execute(
            "INSERT INTO explanations_explanation (model_id, instance_id, method_id, scores,"
            " parameters, extras, created_at, updated_at) SELECT %s, id, %s, '[0.5, -0.5]',"
            " '{}', '{}', now(), now() FROM explanations_instance"
            " WHERE dataset_id = %s AND position >= %s",
            [model.pk, method.pk, dataset.pk, start],
        )
    study = make_study(researcher, dataset, model, methods=["gradient"], launch=False)
    assert study.items.count() > 0
