"""Settings, all from the environment (django-environ).

With no URL set the platform runs on the embedded default of ARCHITECTURE.md
(SQLite and a filesystem Celery broker under var/, the amqtt broker on 1884);
DATABASE_URL / CELERY_BROKER_URL / MQTT_URL switch to PostgreSQL / Redis /
Mosquitto.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Production is the default: development mode (debug pages, a throwaway key) only
# when DEBUG is set, as `make run` does on a laptop.
DEBUG = env.bool("DEBUG", default=False)
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-set-SECRET_KEY-in-production"
# Keys published in this repository or in Django's templates: never a production key.
KNOWN_PUBLIC_SECRET_KEYS = frozenset({DEVELOPMENT_SECRET_KEY, "change-me", "changeme", "secret", "django-insecure"})
SECRET_KEY = env.str("SECRET_KEY", default="")
if not DEBUG and (not SECRET_KEY or SECRET_KEY in KNOWN_PUBLIC_SECRET_KEYS or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured(
        "SECRET_KEY is missing or is a published default, and DEBUG is off (production). Set SECRET_KEY to a "
        "long random value (python -c 'import secrets; print(secrets.token_urlsafe(50))'), or set DEBUG=true "
        "for development on a laptop (make run does)."
    )
SECRET_KEY = SECRET_KEY or DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "axes",
    "community",
    "assets",
    "assets.coop",
    "assets.purchasing",
    "vpp",
    "vpp.balancing",
    "lem",
    "planning",
    "planning.marketplace",
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
    "django_htmx.middleware.HtmxMiddleware",
    "community.middleware.DomainErrorMiddleware",
    # last, as django-axes asks: turns a locked-out login into its 429 page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

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
                "community.context_processors.navigation",
            ],
            # {% partialdef %} everywhere without {% load partials %}
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# --- database -------------------------------------------------------------
EMBEDDED_DATABASE_URL = f"sqlite:///{VAR_DIR / 'cem.sqlite3'}"
DATABASES = {"default": env.db_url("DATABASE_URL", default=EMBEDDED_DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker, beat and the MQTT bridge all write: WAL + IMMEDIATE
    # transactions + a busy timeout instead of "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- auth -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # django-axes first: the log-in page, the admin log-in and the API token endpoint are
    # locked per account and per address after AXES_FAILURE_LIMIT failures.
    "community.auth.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: per account and per address
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "community.auth.lockout_response"
AXES_IPWARE_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0) or None
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Creating a community is a platform administrator's act; with this code set, anyone
# who holds it may also start one (e.g. a pilot's organisers).
COMMUNITY_CREATION_CODE = env.str("COMMUNITY_CREATION_CODE", default="")

# --- email (password reset) ------------------------------------------------------
# Development prints mail on the console; production sends through SMTP from the environment.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Community Energy <no-reply@localhost>")
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24  # a reset link works for one day

# --- security (manage.py check --deploy is clean with DEBUG off) ------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # a load balancer's plain-HTTP probe
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (only then: the header is spoofable otherwise).
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Error pages and error mails never show secrets: settings whose name says so, and
# any password inside a URL (MQTT_URL, DATABASE_URL, CELERY_BROKER_URL, ...).
DEFAULT_EXCEPTION_REPORTER_FILTER = "community.secrets.SecretMaskingReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "community.secrets.SecretMaskingExceptionReporter"
# An upload larger than this is refused before it is parsed (each import has its own, smaller cap).
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- cache (login throttles) ---------------------------------------------------------
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- i18n / time --------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"  # display; the database stores UTC
USE_I18N = True
USE_TZ = True

# --- static -------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))  # deploy: /srv/cem/static
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns if it is missing
# Static files are collected (make run and deployments run collectstatic) and served by
# whitenoise compressed (gzip/brotli) under content-hashed names with far-future cache
# headers. STATIC_COLLECTED=false serves them plain from the app folders (the test suite).
STATIC_COLLECTED = env.bool("STATIC_COLLECTED", default=True)
WHITENOISE_USE_FINDERS = not STATIC_COLLECTED
if STATIC_COLLECTED:
    # collected files change only when collectstatic runs (make run runs it before starting): no re-scan per
    # request, and in development (where {% static %} gives unhashed names) ten minutes in the browser's cache
    # instead of a revalidation of every file on every page
    WHITENOISE_AUTOREFRESH = False
    if DEBUG:
        WHITENOISE_MAX_AGE = 600
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_COLLECTED
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- API ----------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an unauthenticated call answers 401 with WWW-Authenticate: Token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # limit/offset bounded (a huge ?limit= is a 400 with a message, not a 500)
    "DEFAULT_PAGINATION_CLASS": "community.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "community.api_errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"token": env.str("TOKEN_THROTTLE_RATE", default="10/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Community Energy Platform API",
    "DESCRIPTION": "Communities, sites, network, devices, markets, co-ops and plans. "
    "Energy in integer Wh, power in W, money in GBP, prices in p/kWh, time in UTC.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets that share a field name with another model's get names of their own.
    "ENUM_NAME_OVERRIDES": {
        "DeviceKindEnum": "assets.models.Device.Kind",
        "ScenarioStatusEnum": "planning.models.Scenario.Status",
    },
    # Swagger UI from our own static files: the platform works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # 400/401/403/404 documented on every operation (community/schema.py)
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "community.schema.document_error_responses",
    ],
}

# drf-spectacular names colliding enums (two models' "status") by hash itself; the names
# are cosmetic, so its warning does not fail `check --deploy --fail-level WARNING`.
SILENCED_SYSTEM_CHECKS = ["drf_spectacular.W001"]

# --- Celery -------------------------------------------------------------------
EMBEDDED_BROKER_URL = "filesystem://"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=EMBEDDED_BROKER_URL)
CELERY_BROKER_IS_EMBEDDED = CELERY_BROKER_URL == EMBEDDED_BROKER_URL
if CELERY_BROKER_IS_EMBEDDED:
    _queue = VAR_DIR / "celery" / "queue"
    _processed = VAR_DIR / "celery" / "processed"
    for _d in (_queue, _processed):
        _d.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(_processed),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 600
CELERY_TASK_TIME_LIMIT = 900
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- MQTT ---------------------------------------------------------------------
EMBEDDED_MQTT_URL = "mqtt://127.0.0.1:1884"
MQTT_URL = env.str("MQTT_URL", default=EMBEDDED_MQTT_URL)
MQTT_IS_EMBEDDED = MQTT_URL == EMBEDDED_MQTT_URL
MQTT_TOPIC_PREFIX = env.str("MQTT_TOPIC_PREFIX", default="cem")
# Where the platform writes Mosquitto's password and ACL files for device credentials.
MOSQUITTO_PASSWORD_FILE = env.path("MOSQUITTO_PASSWORD_FILE", default=VAR_DIR / "mosquitto" / "passwd")
MOSQUITTO_ACL_FILE = env.path("MOSQUITTO_ACL_FILE", default=VAR_DIR / "mosquitto" / "acl")
# Mosquitto's pid file: rotated credentials take effect at once (SIGHUP) when set.
MOSQUITTO_PID_FILE = env.str("MOSQUITTO_PID_FILE", default="") or None

# --- ingest and scale-out (issues 9 and 16; the ingest engineer's block) ------------
# The group Mosquitto runs as (Debian: mosquitto): the password and ACL files are
# written 0640 to that group so the broker can read them after dropping root.
# Empty: 0600, for a broker that runs as the platform's own user.
MOSQUITTO_FILE_GROUP = env.str("MOSQUITTO_FILE_GROUP", default="") or None
# Raw telemetry older than this is deleted (PostgreSQL: whole monthly partitions
# dropped); interval readings, the basis of settlement, are kept.
TELEMETRY_RETENTION_DAYS = env.int("TELEMETRY_RETENTION_DAYS", default=90)
# Bridges started with this group share the device stream (MQTT v5 $share/<group>/...);
# each needs its own --client-id. Empty: every bridge gets every message.
MQTT_BRIDGE_SHARE_GROUP = env.str("MQTT_BRIDGE_SHARE_GROUP", default="") or None
# Celery queues by kind (issue 16). A worker started without -Q consumes all of
# them (a laptop); a deployment runs workers per queue (-Q market, ...), any
# number each, on any machine: see Procfile and deploy/. Tasks not listed go to
# "default". Clearing and settlement are safe on two workers at once (row and
# advisory locks, tests/scale/test_two_workers.py).
from kombu import Exchange, Queue  # noqa: E402

CELERY_QUEUE_NAMES = ("dispatch", "market", "settlement", "ingest", "default")
CELERY_TASK_QUEUES = [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in CELERY_QUEUE_NAMES]
CELERY_TASK_DEFAULT_QUEUE = "default"
# Optional read replica for reports and charts (config/replica.py): reads go
# there only inside replica_reads(); writes and money paths stay on default.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="") or None
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["config.replica.ReplicaRouter"]
CELERY_TASK_ROUTES = {
    # latency-critical: VPP and balancing commands
    "vpp.tasks.*": {"queue": "dispatch"},
    "balancing.tasks.*": {"queue": "dispatch"},
    "assets.tasks.commands_housekeeping": {"queue": "dispatch"},
    # the market's clock: clearing and trading agents
    "lem.tasks.agents_due": {"queue": "market"},
    "lem.tasks.clear_due": {"queue": "market"},
    "lem.tasks.clear_period": {"queue": "market"},
    # money in batches: settlement, fees, statements, reports, co-op payouts, ledger checks
    "lem.tasks.settle_due": {"queue": "settlement"},
    "lem.tasks.settle_month": {"queue": "settlement"},
    "lem.tasks.membership_fees": {"queue": "settlement"},
    "lem.tasks.value_report": {"queue": "settlement"},
    "assets.coop.tasks.*": {"queue": "settlement"},
    "community.tasks.verify_ledgers": {"queue": "settlement"},
    # readings roll-ups and telemetry storage
    "assets.tasks.refresh_recent_readings": {"queue": "ingest"},
    "assets.tasks.readings_rollup": {"queue": "ingest"},
    "assets.tasks.telemetry_retention": {"queue": "ingest"},
    "assets.tasks.partitions_ensure": {"queue": "ingest"},
}

# --- logging ------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_secrets": {"()": "community.secrets.MaskSecretsLogFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_secrets"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler would print each line a second time through the root.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # 403s and 404s are expected answers, not faults: no traceback for them; 500s still log.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "transitions": {"level": "WARNING"},
        # the embedded broker's PUBACK timeouts while a slow consumer catches up are expected
        "amqtt": {"level": "ERROR"},
        # a successful login is not news; lockouts (WARNING) still show
        "axes": {"level": "WARNING"},
        # the embedded filesystem transport has no host name, by design
        "kombu.connection": {"level": "ERROR"},
    },
}
