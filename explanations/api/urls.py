from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("datasets", views.DatasetViewSet, basename="dataset")
router.register("instances", views.InstanceViewSet, basename="instance")
router.register("models", views.ClassifierModelViewSet, basename="model")
router.register("explanations", views.ExplanationViewSet, basename="explanation")
router.register("scores", views.ScoreViewSet, basename="score")
router.register("jobs", views.JobViewSet, basename="job")

urlpatterns = router.urls
