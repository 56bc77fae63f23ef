"""Settings for Elephant, read from environment variables only.

Defaults give the embedded set-up (SQLite in WAL mode under ``var/``, background work
in-process). ``DATABASE_URL`` switches to PostgreSQL and ``CELERY_BROKER_URL`` to Celery
workers. ``DJANGO_ENV=production`` refuses to start with DEBUG on or the default secret key.
Every variable is listed in the README.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Return the boolean value of environment variable ``name``."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: expected true/false, 1/0, yes/no or on/off")


def env_positive_int(name: str, default: int) -> int:
    """Return the positive whole number in environment variable ``name``."""
    value = os.environ.get(name) or str(default)
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ImproperlyConfigured(f"{name}={value!r}: expected a whole number of at least 1")
    return number


def env_list(name: str, default: str) -> list[str]:
    """Return the comma-separated environment variable ``name`` as a list."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DJANGO_ENV = os.environ.get("DJANGO_ENV", "development")
PRODUCTION = DJANGO_ENV == "production"
DEFAULT_SECRET_KEY = "django-insecure-elephant-development-key-do-not-use-in-production"  # noqa: S105

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEFAULT_SECRET_KEY)
DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("DJANGO_ENV=production refuses to start with DJANGO_DEBUG on.")
    if SECRET_KEY == DEFAULT_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs DJANGO_SECRET_KEY: a private value of at least 50 "
            "characters, not the development default."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ENV=production needs DJANGO_ALLOWED_HOSTS.")

VAR_DIR = Path(os.environ.get("ELEPHANT_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = Path(os.environ.get("ELEPHANT_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
# Trained weights live here, one folder per model, each with config, vocabulary and sha256.
MODEL_STORE = Path(os.environ.get("ELEPHANT_MODEL_STORE", VAR_DIR / "models"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "explanations",
    "studies",
    "analysis",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_default_sqlite = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
# Persistent connections (seconds; 0 closes each after its request): a web worker that
# opens a PostgreSQL connection per request spends a few milliseconds of every participant's
# answer on it. The health check drops a connection the server closed.
_conn_max_age = os.environ.get("ELEPHANT_DB_CONN_MAX_AGE") or "60"
if not _conn_max_age.isdecimal():
    raise ImproperlyConfigured(
        f"ELEPHANT_DB_CONN_MAX_AGE={_conn_max_age!r}: expected a whole number of seconds >= 0"
    )
CONN_MAX_AGE = int(_conn_max_age)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or _default_sqlite,
        conn_max_age=CONN_MAX_AGE,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "ELEPHANT_DB_PREPARED_STATEMENTS", True
):
    # The participant path's compiled queries (studies.compiled) are the same text on every
    # request: they run on a cursor that binds on the server, and psycopg prepares each
    # once it has run five times on a connection, so PostgreSQL stops parsing and planning
    # them. Every other query keeps client-side binding (no prepared statements). Django
    # leaves preparing off by default for connection poolers in transaction mode, which
    # cannot keep a prepared statement (PgBouncer before 1.21): behind one, set it off.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a background job writes; the busy timeout makes
    # concurrent writers wait instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", VAR_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Outside production WhiteNoise serves straight from static/ (no collectstatic needed), so
# the embedded set-up and the browser tests get the CSS and JS without a CDN.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "explanations:dataset-list"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Pages of ELEPHANT_API_PAGE_SIZE rows; ?page_size= is capped (see the settings below).
    "DEFAULT_PAGINATION_CLASS": "explanations.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Elephant API",
    "DESCRIPTION": (
        "Datasets, models, explanations, faithfulness and plausibility scores, and user studies."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc are served by the app itself (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The schema and its docs are for signed-in users, like the API they describe.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # No validator badge: Swagger UI would send the schema's address to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.add_error_responses",
    ],
    # Scores and the per-model summary share one name for faithfulness | plausibility.
    "ENUM_NAME_OVERRIDES": {"ScoreKindEnum": "explanations.models.Score.Kind"},
}

# Background work: in-process by default; Celery workers when a broker is configured.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# The torch device explanation and faithfulness jobs run on ("cpu", "cuda", "cuda:1", ...).
ELEPHANT_DEVICE = os.environ.get("ELEPHANT_DEVICE", "cpu")
ELEPHANT_SHARD_SIZE = int(os.environ.get("ELEPHANT_SHARD_SIZE", "64"))
# Rows x subword pieces in one forward and backward pass of an imported Hugging Face model
# (integrated gradients counts each step as a row): the memory bound of attribution.
ELEPHANT_MAX_BATCH_TOKENS = int(os.environ.get("ELEPHANT_MAX_BATCH_TOKENS", "8192"))

# Import limits (README, "Limits"). A text is what a participant reads in one trial and
# every explanation stores one score per token of it: 5,000 tokens (about 4,000 words, a
# quarter of an hour's reading) is past any study trial and ten times what a BERT-style
# model reads (512 pieces), yet holds a long review or article whole. One unlimited
# record of 2.1 M tokens made its dataset page take 5 s and one API page 63 MB. Raise it
# for longer documents (whole scientific articles, as in ERASER's Evidence Inference);
# storage and page weight grow linearly with it.
ELEPHANT_MAX_TOKENS_PER_INSTANCE = env_positive_int("ELEPHANT_MAX_TOKENS_PER_INSTANCE", 5000)
# Characters of one text (text or text_b): 5,000 tokens of ordinary prose are about 30,000
# characters; this bounds a text whose "tokens" are huge (a long run without spaces is one
# token). It stays under Python's CSV cell limit (131,072); set above it, CSV cells are
# read up to it.
ELEPHANT_MAX_CHARS_PER_TEXT = env_positive_int("ELEPHANT_MAX_CHARS_PER_TEXT", 100_000)
# Bytes of one dataset file uploaded on the web page (256 MB holds IMDB's 50,000 reviews
# twice over); larger files go through `manage.py import_dataset`, which reads from disk.
ELEPHANT_MAX_UPLOAD_BYTES = env_positive_int("ELEPHANT_MAX_UPLOAD_BYTES", 256 * 1024 * 1024)
# REST API pages: the default number of rows, and the most ?page_size= may ask for.
# Instances and explanations (rows that grow with the text) page by 10, at most 25.
ELEPHANT_API_PAGE_SIZE = env_positive_int("ELEPHANT_API_PAGE_SIZE", 50)
ELEPHANT_API_MAX_PAGE_SIZE = env_positive_int("ELEPHANT_API_MAX_PAGE_SIZE", 200)

# Participants' data (README, "Participants' data"): days after a study closes until
# `manage.py erase_platform_ids` erases its participants' Prolific and MTurk ids. 90 days
# leaves time for late bonuses, rejections and disputes on the platform; pseudonyms stay.
ELEPHANT_PLATFORM_ID_RETENTION_DAYS = env_positive_int("ELEPHANT_PLATFORM_ID_RETENTION_DAYS", 90)

# Paying participants (README, "Paying participants"): the payments page's Prolific actions
# are on when a Prolific API token is set; its MTurk actions when an MTurk access key is set
# (else boto3's own credential chain is not tried, so nothing is sent by accident). MTurk
# goes to the requester sandbox unless MTURK_SANDBOX is turned off.
PROLIFIC_API_TOKEN = os.environ.get("PROLIFIC_API_TOKEN", "")
MTURK_ACCESS_KEY_ID = os.environ.get("MTURK_ACCESS_KEY_ID", "")
MTURK_SECRET_ACCESS_KEY = os.environ.get("MTURK_SECRET_ACCESS_KEY", "")
MTURK_SANDBOX = env_bool("MTURK_SANDBOX", True)

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
}
