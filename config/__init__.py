"""Django project package (named ``config``: a package called ``platform`` would shadow the
standard library)."""

from .celery import app as celery_app

__all__ = ("celery_app",)
