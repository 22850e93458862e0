"""Settings for this repository's project (the demo, the tests and `make serve`), driven
by the environment; README "Settings" and "Deploying" list every variable.

DATABASE_URL          database (default: SQLite file var/queueadmin.sqlite3)
SECRET_KEY            required when DEBUG is off
DEBUG                 "1"/"0" (default 1: a development checkout)
ALLOWED_HOSTS         comma-separated host names
CSRF_TRUSTED_ORIGINS  comma-separated origins (https://jobs.example.com) behind a proxy
SECURE_COOKIES        session and CSRF cookies only over HTTPS (default: on when DEBUG is off)
SERVED_OVER_HTTPS     "1" when users reach the site over HTTPS: turns HSTS on (default: off,
                      or on when SECURE_SSL_REDIRECT is on)
SECURE_SSL_REDIRECT   redirect HTTP to HTTPS (opt-in: default off)
SECURE_HSTS_SECONDS, SECURE_HSTS_PRELOAD
                      HSTS max-age (default 31536000 when served over HTTPS and DEBUG is off,
                      else 0) and preload (default: on when HSTS is on)
SECURE_PROXY_SSL_HEADER
                      "1" when a proxy in front terminates TLS and sets X-Forwarded-Proto
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("QUEUEADMIN_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean environment variable ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "django-insecure-queueadmin-development-key-never-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY.strip():  # a blank or whitespace-only key is no key at all
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG=0, and not blank: the development key is public. "
            "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    SECRET_KEY = _DEV_SECRET_KEY


def env_list(name: str, default: str = "") -> list[str]:
    """Read a comma-separated environment variable as a list of non-empty strings."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# HTTPS. With DEBUG=0 cookies are Secure by default; the redirect to HTTPS is opt-in
# (SECURE_SSL_REDIRECT=1), and HSTS is on only once the operator says the site is served
# over HTTPS (SERVED_OVER_HTTPS=1, implied by the redirect): a browser told HSTS over a
# plain-HTTP site would lock its users out. README "Deploying" gives the production
# environment, with which `manage.py check --deploy` reports nothing; `make serve`
# turns Secure cookies off to serve plain HTTP on localhost.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SERVED_OVER_HTTPS = env_bool("SERVED_OVER_HTTPS", SECURE_SSL_REDIRECT)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SECURE_HSTS_SECONDS = int(
    os.environ.get("SECURE_HSTS_SECONDS", "").strip()
    or (31_536_000 if SERVED_OVER_HTTPS and not DEBUG else 0)
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", SECURE_HSTS_SECONDS > 0)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "core",
    # The demo of `make run` (demo handlers, workload, example pages); not for your project.
    "core.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "queueadmin.urls"
WSGI_APPLICATION = "queueadmin.wsgi.application"
ASGI_APPLICATION = "queueadmin.asgi.application"

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


def database_from_env() -> dict:
    """Build the default database from DATABASE_URL, tuned per vendor."""
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'queueadmin.sqlite3'}"
    db = dj_database_url.parse(url, conn_max_age=0)
    options = db.setdefault("OPTIONS", {})
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers run beside the one writer; IMMEDIATE takes the write
        # lock at BEGIN so concurrent writers queue on the busy timeout instead
        # of failing with "database is locked" on lock upgrade.
        options.setdefault("transaction_mode", "IMMEDIATE")
        options.setdefault("timeout", 30)
        options.setdefault(
            "init_command",
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        )
        # Tests need a file (not :memory:) so threads and worker processes share it.
        db["TEST"] = {"NAME": str(VAR_DIR / f"test_{Path(db['NAME']).stem}.sqlite3")}
    elif db["ENGINE"] == "django.db.backends.postgresql":
        options.setdefault("application_name", "queueadmin")
    return db


DATABASES = {"default": database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
if not DEBUG:
    # Static files served by the app server itself (after `collectstatic`), compressed.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    }

LOGIN_URL = "admin:login"

# Django's tasks framework runs on queueadmin: @task functions become jobs.
TASKS = {"default": {"BACKEND": "core.backend.QueueBackend"}}

# Scripts only from our own files: no inline script, no eval, no third party.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "queueadmin": {
            "handlers": ["console"],
            "level": os.environ.get("QUEUEADMIN_LOG_LEVEL", "INFO"),
        },
    },
}

# queueadmin's own settings; every key is optional (defaults in core/conf.py).
QUEUEADMIN: dict = {}
if os.environ.get("QUEUEADMIN_HANDLER_MODULES"):
    QUEUEADMIN["HANDLER_MODULES"] = [
        m.strip() for m in os.environ["QUEUEADMIN_HANDLER_MODULES"].split(",") if m.strip()
    ]
if os.environ.get("QUEUEADMIN_LEASE_SECONDS"):
    QUEUEADMIN["LEASE_SECONDS"] = float(os.environ["QUEUEADMIN_LEASE_SECONDS"])
