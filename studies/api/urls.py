from rest_framework.routers import SimpleRouter

from . import views

# SimpleRouter: the API root view belongs to the explanations router mounted at the same prefix.
router = SimpleRouter()
router.register("studies", views.StudyViewSet, basename="study")

urlpatterns = router.urls
