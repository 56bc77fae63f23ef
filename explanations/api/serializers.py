from rest_framework import serializers

from explanations.compute.hf.alignment import POOLINGS
from explanations.io.datasets import FORMATS
from explanations.io.subword import FORMATS as EXPLANATION_FORMATS
from explanations.models import ClassifierModel, Dataset, Explanation, Instance, Job, Score
from explanations.summaries import SUMMARY_METRICS


class DatasetSerializer(serializers.ModelSerializer):
    owner: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    instance_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Dataset
        fields = [
            "id",
            "name",
            "description",
            "task",
            "label_names",
            "source_format",
            "is_pair",
            "owner",
            "is_public",
            "instance_count",
            "created_at",
        ]


class InstanceSerializer(serializers.ModelSerializer):
    dataset: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )

    class Meta:
        model = Instance
        fields = [
            "id",
            "dataset",
            "external_id",
            "position",
            "split",
            "text",
            "text_b",
            "tokens",
            "token_offsets",
            "tokens_b",
            "token_offsets_b",
            "gold_label",
        ]


class ClassifierModelSerializer(serializers.ModelSerializer):
    dataset: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    # Without the held-out instances' database ids (they mean nothing outside it).
    training_metrics = serializers.JSONField(source="reported_metrics", read_only=True)

    class Meta:
        model = ClassifierModel
        fields = [
            "id",
            "name",
            "dataset",
            "architecture",
            "config",
            "weights_sha256",
            "label_names",
            "training_metrics",
            "seed",
            "created_at",
        ]


class ScoreSerializer(serializers.ModelSerializer):
    method = serializers.CharField(source="explanation.method.name", read_only=True)
    model = serializers.CharField(source="explanation.model.name", read_only=True)
    instance = serializers.CharField(source="explanation.instance.external_id", read_only=True)

    class Meta:
        model = Score
        fields = [
            "id",
            "explanation",
            "model",
            "method",
            "instance",
            "metric",
            "kind",
            "value",
            "parameters",
        ]


class ExplanationSerializer(serializers.ModelSerializer):
    model: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    method: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    instance: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="external_id", read_only=True
    )
    dataset = serializers.CharField(source="instance.dataset.name", read_only=True)

    class Meta:
        model = Explanation
        fields = [
            "id",
            "model",
            "dataset",
            "instance",
            "method",
            "scores",
            "target_label",
            "parameters",
            "extras",
            "compute_seconds",
            "updated_at",
        ]


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "model",
            "dataset",
            "parameters",
            "total_shards",
            "done_shards",
            "total_items",
            "done_items",
            "progress",
            "error",
            "backend",
            "created_at",
            "started_at",
            "finished_at",
        ]


class DatasetUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A JSONL or CSV file (ERASER folders: use the command).")
    name = serializers.SlugField(max_length=100)
    format = serializers.ChoiceField(choices=[f for f in FORMATS if f != "eraser"], required=False)
    labels = serializers.ListField(child=serializers.CharField(), required=False)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    append = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Add the file's new ids to an existing dataset of yours. Without it a name "
        "already in use is refused, saying what the file would add.",
    )


class ExplanationUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="JSON lines. jsonl: instance, method, scores (one per word), params; "
        "subword: instance, method, input_ids or pieces, scores (one per piece), params; "
        "thermostat: Thermostat's lines (input_ids, attributions, predictions, idx)."
    )
    model = serializers.SlugField(max_length=100)
    dataset = serializers.SlugField(max_length=100)
    format = serializers.ChoiceField(
        choices=EXPLANATION_FORMATS,
        default="jsonl",
        help_text="jsonl (word level, default); subword and thermostat need a model imported "
        "with import_model: their pieces are checked against its tokenizer and pooled to words.",
    )
    method = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="thermostat: the method the file's explainer computed.",
    )
    id_field = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="thermostat: the field holding the instance id (default idx).",
    )
    pooling = serializers.ChoiceField(
        choices=POOLINGS,
        required=False,
        allow_blank=True,
        default="",
        help_text="subword, thermostat: pooling for lines naming none (default: the method's).",
    )


class DiagnosticsRequestSerializer(serializers.Serializer):
    """A request to run the attention diagnostics (issue #13) on a model."""

    dataset = serializers.CharField(
        required=False, max_length=200, help_text="A dataset visible to you (default: the model's)."
    )
    experiments = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        help_text="correlation, permutation, adversarial, zeroing (default: all the model supports).",
    )
    parameters = serializers.DictField(
        required=False, help_text='Per experiment, e.g. {"permutation": {"permutations": 100}}.'
    )


class ModelImportSerializer(serializers.Serializer):
    archive = serializers.FileField(
        help_text="A .zip of a save_pretrained folder: config.json, model.safetensors or "
        "pytorch_model.bin, tokenizer.json (at most 50 files, 2 GB uncompressed)."
    )
    # Names are checked by the import service, so that every refusal reads the same.
    name = serializers.CharField(max_length=200, help_text="Model name: letters, digits, - or _.")
    dataset = serializers.CharField(max_length=200, help_text="A dataset visible to you.")
    label_map = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="dataset_label=model_label pairs, e.g. neg=NEGATIVE,pos=POSITIVE.",
    )


class DatasetImportResultSerializer(DatasetSerializer):
    """An imported dataset, with how many instances were new, unchanged and had rationales."""

    created = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rationales = serializers.IntegerField()

    class Meta(DatasetSerializer.Meta):
        fields = [*DatasetSerializer.Meta.fields, "created", "unchanged", "rationales"]


class ExplanationImportResultSerializer(ClassifierModelSerializer):
    """The model the explanations were imported into, with how many were written."""

    written = serializers.IntegerField()

    class Meta(ClassifierModelSerializer.Meta):
        fields = [*ClassifierModelSerializer.Meta.fields, "written"]


class SummaryColumnSerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=[m for m, _, _ in SUMMARY_METRICS])
    kind = serializers.ChoiceField(choices=Score.Kind.choices)
    label = serializers.CharField()  # type: ignore[assignment]  # the column's, not Field.label


class SummaryCellSerializer(serializers.Serializer):
    """Mean and 95% bootstrap CI over instances; null where no instance has a value."""

    metric = serializers.CharField()
    kind = serializers.ChoiceField(choices=Score.Kind.choices)
    mean = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField(help_text="Instances with a value.")
    n_undefined = serializers.IntegerField(help_text="Instances whose value is undefined.")


class SummaryRowSerializer(serializers.Serializer):
    method = serializers.CharField()
    computed = serializers.BooleanField(help_text="False for the random floor when not computed.")
    cells = SummaryCellSerializer(many=True)


class ScoreSummarySerializer(serializers.Serializer):
    """A model's methods by metrics, each metric labelled faithfulness or plausibility."""

    model = serializers.CharField()
    dataset = serializers.CharField()
    floor_method = serializers.CharField()
    columns = SummaryColumnSerializer(many=True)
    rows = SummaryRowSerializer(many=True)
    attention_agreement_tau = serializers.DictField(
        child=serializers.ListField(child=serializers.FloatField()),
        help_text="Per method, each instance's Kendall tau with the attention explanation.",
    )
