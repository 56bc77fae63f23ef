"""A study type added from outside the apps: ``study_types`` and ``analysis_types`` modules.

Installed as an app (``INSTALLED_APPS += ["tests.studies.plugin_type"]``), it is found the
way a third-party app's types would be: ``StudiesConfig.ready()`` imports its
``study_types`` module, ``AnalysisConfig.ready()`` its ``analysis_types`` module.
"""
