from django.urls import path
from rest_framework.routers import SimpleRouter

from . import adjudication, views

# SimpleRouter: the API root view belongs to the explanations router mounted at the same prefix.
router = SimpleRouter()
router.register("studies", views.StudyViewSet, basename="study")

urlpatterns = [
    *router.urls,
    path(
        "studies/<int:pk>/adjudication/",
        adjudication.study_adjudication,
        name="study-adjudication",
    ),
]
