import django_filters

from explanations.models import ClassifierModel, Explanation, Instance, Score


class InstanceFilter(django_filters.FilterSet):
    dataset = django_filters.CharFilter(field_name="dataset__name")

    class Meta:
        model = Instance
        fields = ["dataset", "split", "gold_label", "external_id"]


class ClassifierModelFilter(django_filters.FilterSet):
    dataset = django_filters.CharFilter(field_name="dataset__name")

    class Meta:
        model = ClassifierModel
        fields = ["dataset", "architecture"]


class ExplanationFilter(django_filters.FilterSet):
    dataset = django_filters.CharFilter(field_name="instance__dataset__name")
    model = django_filters.CharFilter(field_name="model__name")
    method = django_filters.CharFilter(field_name="method__name")
    instance = django_filters.CharFilter(field_name="instance__external_id")

    class Meta:
        model = Explanation
        fields = ["dataset", "model", "method", "instance"]


class ScoreFilter(django_filters.FilterSet):
    dataset = django_filters.CharFilter(field_name="explanation__instance__dataset__name")
    model = django_filters.CharFilter(field_name="explanation__model__name")
    method = django_filters.CharFilter(field_name="explanation__method__name")
    instance = django_filters.CharFilter(field_name="explanation__instance__external_id")

    class Meta:
        model = Score
        fields = ["dataset", "model", "method", "instance", "metric", "kind"]
