"""Settings, read from the environment through small typed helpers.

With no DATABASE_URL and no broker configured, the service runs on embedded defaults that need
no server: SQLite (WAL) under var/ and Kombu's filesystem broker under var/broker/.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from inspection.observability.logging import configure_early, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("INSPECTION_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# The embedded default key is only for local runs; production sets SECRET_KEY.
SECRET_KEY = env_str("SECRET_KEY", "insecure-local-only-key-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "inspection",
    "lab",  # the model lab's commands: generate_dataset, train_default_model, evaluate_model
]

MIDDLEWARE = [
    "inspection.observability.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "inspection.ui.csp.ContentSecurityPolicyMiddleware",
    "inspection.outages.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    # Health checks: a connection that died with a database restart is replaced before use, so
    # the first request after the restart does not fail on it.
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
else:
    # Several worker processes write at once: WAL plus IMMEDIATE transactions and a long busy
    # timeout turn SQLite's "database is locked" into short waits.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "inspection.sqlite3"),
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
# Serve static files from the app directories without a collectstatic step in dev and tests.
WHITENOISE_USE_FINDERS = True
# WhiteNoise warns on every request while STATIC_ROOT is missing (before any collectstatic).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# --- Storage (content-addressed originals, preprocessed arrays) ------------------------------
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGE_BACKEND = env_str("STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": STORAGE_BACKEND},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


S3_ADDRESSING_STYLES: dict[str, Literal["auto", "virtual", "path"]] = {
    "auto": "auto",
    "virtual": "virtual",
    "path": "path",
}


def s3_addressing_style() -> Literal["auto", "virtual", "path"]:
    style = env_str("S3_ADDRESSING_STYLE", "path")
    if style not in S3_ADDRESSING_STYLES:
        raise ImproperlyConfigured(
            f"S3_ADDRESSING_STYLE must be one of {list(S3_ADDRESSING_STYLES)}"
        )
    return S3_ADDRESSING_STYLES[style]


def s3_storage_options() -> dict[str, object]:
    """django-storages' S3Storage options from S3_* variables (SeaweedFS, MinIO, AWS S3): web
    and workers on several hosts share originals, arrays and exports with no shared disk
    (docs/deploy.md, "Object storage"). A function, so tests build them from their own store."""
    from botocore.config import Config as S3ClientConfig

    if not env_str("S3_BUCKET"):
        raise ImproperlyConfigured("S3_BUCKET must name the bucket when STORAGE_BACKEND is S3")
    return {
        "bucket_name": env_str("S3_BUCKET"),
        "endpoint_url": env_str("S3_ENDPOINT_URL") or None,
        "region_name": env_str("S3_REGION", "us-east-1"),
        # Unset: boto3's own chain (AWS_* variables, a pod's web identity, an instance profile).
        "access_key": env_str("S3_ACCESS_KEY_ID") or None,
        "secret_key": env_str("S3_SECRET_ACCESS_KEY") or None,
        # Our keys name their content (a hash, an image id): a second save of a key replaces the
        # object, as inspection/storage.py expects, and never gets a random suffix.
        "file_overwrite": True,
        "default_acl": "private",
        "querystring_auth": True,
        "client_config": S3ClientConfig(
            # Path-style: an endpoint named by an IP address or a cluster-internal service name
            # has no per-bucket subdomains.
            s3={"addressing_style": s3_addressing_style()},
            signature_version="s3v4",
            # botocore waits 60 s per connection attempt by default: a worker would sit that
            # long on each file while the store is away instead of handing its claim back.
            connect_timeout=env_float("S3_CONNECT_TIMEOUT", 3.0),
            read_timeout=env_float("S3_READ_TIMEOUT", 30.0),
            retries={"max_attempts": env_int("S3_MAX_ATTEMPTS", 3), "mode": "standard"},
        ),
    }


if STORAGE_BACKEND.startswith("storages.backends.s3"):
    STORAGES["default"]["OPTIONS"] = s3_storage_options()

# --- Upload limits ---------------------------------------------------------------------------
MAX_FILES_PER_BATCH = env_int("MAX_FILES_PER_BATCH", 200)
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 25 * 1024 * 1024)
MAX_BATCH_BYTES = env_int("MAX_BATCH_BYTES", 512 * 1024 * 1024)
MAX_IMAGE_PIXELS = env_int("MAX_IMAGE_PIXELS", 50_000_000)
# What the web process may spend checking a request's files (services/submission.py): the first
# UPLOAD_HEADER_BYTES of each file, for at most UPLOAD_CHECK_SECONDS per request; the pipeline
# checks the rest.
UPLOAD_HEADER_BYTES = env_int("UPLOAD_HEADER_BYTES", 256 * 1024)
UPLOAD_CHECK_SECONDS = env_float("UPLOAD_CHECK_SECONDS", 2.0)
MIN_IMAGE_SIDE = env_int("MIN_IMAGE_SIDE", 32)
ALLOWED_IMAGE_FORMATS = env_list("ALLOWED_IMAGE_FORMATS", "JPEG,PNG,WEBP,BMP,TIFF,GIF,MPO")
# Animated GIF/WebP/PNG, multi-page TIFF: `first_frame` processes the first frame and flags the
# image `multi_frame`; `refuse` fails it with that reason.
MULTI_FRAME_IMAGES = env_str("MULTI_FRAME_IMAGES", "first_frame").strip().lower()
if MULTI_FRAME_IMAGES not in ("first_frame", "refuse"):
    raise ImproperlyConfigured("MULTI_FRAME_IMAGES must be first_frame or refuse")
REFUSE_MULTI_FRAME_IMAGES = MULTI_FRAME_IMAGES == "refuse"
# Overload protection: above this many unfinished images the API answers 503 + Retry-After.
MAX_PENDING_IMAGES = env_int("MAX_PENDING_IMAGES", 20_000)
# Django refuses multipart bodies with more parts than this before our own limits can speak.
DATA_UPLOAD_MAX_NUMBER_FILES = MAX_FILES_PER_BATCH + 1
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Preprocessing and quality ---------------------------------------------------------------
PREPROCESS_NORMALIZE_LIGHTING = env_bool("PREPROCESS_NORMALIZE_LIGHTING", False)
# Flags route an image to review; "fail" limits end it as unusable.
QUALITY_DARK_BRIGHTNESS = env_float("QUALITY_DARK_BRIGHTNESS", 50.0)
QUALITY_FAIL_DARK_BRIGHTNESS = env_float("QUALITY_FAIL_DARK_BRIGHTNESS", 12.0)
QUALITY_BRIGHT_BRIGHTNESS = env_float("QUALITY_BRIGHT_BRIGHTNESS", 215.0)
QUALITY_FAIL_BRIGHT_BRIGHTNESS = env_float("QUALITY_FAIL_BRIGHT_BRIGHTNESS", 250.0)
QUALITY_BLUR_VARIANCE = env_float("QUALITY_BLUR_VARIANCE", 60.0)
QUALITY_LOW_CONTRAST = env_float("QUALITY_LOW_CONTRAST", 18.0)
QUALITY_FAIL_LOW_CONTRAST = env_float("QUALITY_FAIL_LOW_CONTRAST", 3.0)
QUALITY_MIN_JPEG_QUALITY = env_int("QUALITY_MIN_JPEG_QUALITY", 40)

# --- Inference -------------------------------------------------------------------------------
INFERENCE_DEVICE = env_str("INFERENCE_DEVICE", "auto")  # auto | cpu | cuda | cuda:N
INFERENCE_BATCH_SIZE = env_int("INFERENCE_BATCH_SIZE", 8)
# A batch stops growing when its estimated run time (the process's last measured time per image
# times its size) would pass this: on a GPU (a few ms an image) batches fill to
# INFERENCE_BATCH_SIZE; on a CPU, where batching buys little, they stay small, so an image that
# arrives behind a backlog waits for at most one short batch, not eight slow images.
INFERENCE_MAX_BATCH_MS = env_int("INFERENCE_MAX_BATCH_MS", 150)
# How much lower than the other processes an inference worker's pool process runs (nice(2);
# 0 keeps it equal). On a CPU it shares with the web and the CPU stages, its model threads
# otherwise hold every core for a whole batch while a few milliseconds of preprocessing or
# validation of another facility's image wait for a time slice; it still gets all the CPU the
# others leave. A worker alone on its machine is unaffected; one on a GPU keeps full priority.
INFERENCE_WORKER_NICENESS = env_int("INFERENCE_WORKER_NICENESS", 10)
# Non-maximum suppression: boxes of one class overlapping a more confident one by more than this
# IoU are dropped. ultralytics' 0.7 left duplicate damage boxes that went to review; 0.5 halves
# the review load at the same precision target (models/MODEL_CARD.md). Calibrate at the value
# you serve with: the offline tools read this setting too.
INFERENCE_NMS_IOU = env_float("INFERENCE_NMS_IOU", 0.5)
# 0 = let the worker pick (all cores on CPU); ultralytics silently drops to 1 thread otherwise.
INFERENCE_THREADS = env_int("INFERENCE_THREADS", 0)
# Bench only: every model returns the same two boxes at no cost (inference/fixed_boxes.py), to
# measure the pipeline's own ceiling. Never in production.
INFERENCE_BENCH_FIXED_BOXES = env_bool("INFERENCE_BENCH_FIXED_BOXES", False)
# What runs `.pt` weights: auto = torch with CUDA in FP16 on a GPU, an OpenVINO export of them on
# a CPU (made on first load, cached by the weights' sha256 under INFERENCE_EXPORT_DIR; 2.2-2.7x
# torch's speed on 2 cores); or pinned: torch | openvino | onnxruntime. ONNX and OpenVINO models
# always run on their own runtime. Measured and explained in docs/deploy.md, "Inference
# backends" (python -m bench.backends measures a host).
INFERENCE_BACKEND = env_str("INFERENCE_BACKEND", "auto")
INFERENCE_EXPORT_DIR = Path(env_str("INFERENCE_EXPORT_DIR", str(VAR_DIR / "model-exports")))
# OpenVINO on a CPU. The worker makes one synchronous predict call at a time, which LATENCY
# serves with all its threads; THROUGHPUT splits them into streams one call cannot use at once
# (1.6-1.8x slower). Pinning threads to cores gains nothing alone and, for processes that split
# the cores, piles their threads onto the same core (about half the throughput).
# 0 streams / auto precision: the plugin's choice (bf16 where the CPU has AVX512_BF16 or AMX:
# 1.7-1.9x f32's speed here, boxes within the tolerance of tests/test_openvino_backend.py).
INFERENCE_OPENVINO_HINT = env_str("INFERENCE_OPENVINO_HINT", "LATENCY")
INFERENCE_OPENVINO_STREAMS = env_int("INFERENCE_OPENVINO_STREAMS", 0)
INFERENCE_OPENVINO_PINNING = env_bool("INFERENCE_OPENVINO_PINNING", False)
INFERENCE_OPENVINO_PRECISION = env_str("INFERENCE_OPENVINO_PRECISION", "auto")  # auto|f32|bf16|f16
MODEL_DIR = Path(env_str("MODEL_DIR", str(BASE_DIR / "models")))
DEFAULT_MODEL_PATH = Path(env_str("DEFAULT_MODEL_PATH", str(MODEL_DIR / "default.pt")))
YOLO_CONFIG_DIR = env_str("YOLO_CONFIG_DIR", str(VAR_DIR / "ultralytics"))
# ultralytics reads these at import time: never download, never phone home.
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "0")
os.environ.setdefault("YOLO_CONFIG_DIR", YOLO_CONFIG_DIR)
# OpenMP threads that spin while idle steal the core the web and CPU worker need: with the default
# policy a 2-thread predict took 0.3-1.8 s instead of ~40 ms while another process was busy
# (bench/README.md). Set before torch loads its OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# --- Pipeline batches ------------------------------------------------------------------------
# Each stage claims, writes and announces images in batches: one message and a few SQL
# statements per batch, not per image. A message claims up to its stage's batch size (facilities
# taking turns); inference batches are INFERENCE_BATCH_SIZE, cut by INFERENCE_MAX_BATCH_MS.
PREPROCESS_BATCH_SIZE = env_int("PREPROCESS_BATCH_SIZE", 4)
VALIDATE_BATCH_SIZE = env_int("VALIDATE_BATCH_SIZE", 16)
# Back-pressure (inspection/pipeline/backpressure.py): a facility's images are preprocessed at
# most this many ahead of inference. A 500-image batch otherwise kept every CPU process busy
# preprocessing for seconds ahead of the model, and another facility's one image waited behind
# that work (bench fairness 3.95x its idle latency). Two inference batches: one runs while the
# next is ready. 0 = no limit. PostgreSQL with the Redis broker (the embedded mode has none).
PREPROCESS_AHEAD_IMAGES = env_int("PREPROCESS_AHEAD_IMAGES", 2 * INFERENCE_BATCH_SIZE)

# --- Pipeline reliability --------------------------------------------------------------------
# Claims of an image per stage (attempts beyond this fail it: its messages keep killing workers).
PIPELINE_MAX_ATTEMPTS = env_int("PIPELINE_MAX_ATTEMPTS", 3)
# A worker renews the leases it holds four times per lease while it works: a dead worker's images
# are free again within this long (at once when it restarts or its heartbeat stops).
PIPELINE_LEASE_SECONDS = env_int("PIPELINE_LEASE_SECONDS", 20)
# The sweeper (own queue) sends the messages that are missing and frees dead workers' images.
PIPELINE_SWEEP_INTERVAL_SECONDS = env_int("PIPELINE_SWEEP_INTERVAL_SECONDS", 5)
# An image the sweeper re-sent waits this long before another re-send, then twice as long, ...
PIPELINE_RESEND_SECONDS = env_int("PIPELINE_RESEND_SECONDS", 30)

# --- Drift guard (docs/learning.md) -----------------------------------------------------------
# How often beat checks every facility's confidences and measured precision.
DRIFT_CHECK_INTERVAL_SECONDS = env_int("DRIFT_CHECK_INTERVAL_SECONDS", 900)
# The recent window compared with the reference window of the active thresholds.
DRIFT_RECENT_HOURS = env_int("DRIFT_RECENT_HOURS", 24)

# --- Review UI and exports ------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "review:queue"
LOGOUT_REDIRECT_URL = "login"
# A claimed task is the reviewer's for this long; the open page renews it every third of it.
REVIEW_LEASE_SECONDS = env_int("REVIEW_LEASE_SECONDS", 300)
# Longest side of the image the task page shows (boxes stay in original pixels).
REVIEW_DISPLAY_MAX_SIDE = env_int("REVIEW_DISPLAY_MAX_SIDE", 2048)
# Exports of up to this many images are built in the request; larger ones by a worker.
EXPORT_INLINE_MAX_IMAGES = env_int("EXPORT_INLINE_MAX_IMAGES", 50)
# How often lost export jobs are looked for; a pending job is re-sent after this long, then
# after waits that double (up to 12 intervals).
EXPORT_SWEEP_INTERVAL_SECONDS = env_int("EXPORT_SWEEP_INTERVAL_SECONDS", 300)
# Label Studio exports link images as EXPORT_IMAGE_BASE_URL + /review/images/<id>/image.jpg.
EXPORT_IMAGE_BASE_URL = env_str("EXPORT_IMAGE_BASE_URL", "")

# --- `make up` (manage.py serve) on one machine --------------------------------------------------
WEB_PORT = env_int("WEB_PORT", 8000)
FLOWER_PORT = env_int("FLOWER_PORT", 5555)

# --- Celery ----------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
BROKER_DATA_DIR = VAR_DIR / "broker"
CPU_QUEUE_NAME = env_str("CPU_QUEUE_NAME", "cpu")
INFERENCE_QUEUE_NAME = env_str("INFERENCE_QUEUE_NAME", "gpu")
# Sweeps, webhook deliveries and exports: consumed by the CPU workers beside CPU_QUEUE_NAME, so a
# backlog of images never delays them (and the stage queues hold stage messages only).
MAINTENANCE_QUEUE_NAME = env_str("MAINTENANCE_QUEUE_NAME", "maintenance")
# Pool processes of the CPU worker that `make up` / `make demo` start (preprocess, validate),
# as docker-compose.yml's: with one, another facility's image, or an image back from inference
# for validation, waited for the batch that process was preprocessing (50-160 ms of a one-image
# batch's time under a 100-image one, bench "fairness"); with two, one is nearly always free.
CPU_WORKER_CONCURRENCY = env_int("CPU_WORKER_CONCURRENCY", 2)
# Tests run task bodies in-process when true (eager); the pipeline tests use real workers.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# --- Webhooks --------------------------------------------------------------------------------
# Refuse private, loopback and link-local targets (SSRF) unless this is set (tests, local runs).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
# How integrators reach this API: the payload's results_url starts with it.
WEBHOOK_PUBLIC_BASE_URL = env_str("WEBHOOK_PUBLIC_BASE_URL", "http://localhost:8000")
WEBHOOK_CONNECT_TIMEOUT = env_float("WEBHOOK_CONNECT_TIMEOUT", 3.0)
WEBHOOK_READ_TIMEOUT = env_float("WEBHOOK_READ_TIMEOUT", 10.0)
# 8 attempts, 30 s doubling to at most 30 min between them: about an hour in all.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
WEBHOOK_BACKOFF_SECONDS = env_int("WEBHOOK_BACKOFF_SECONDS", 30)
WEBHOOK_MAX_BACKOFF_SECONDS = env_int("WEBHOOK_MAX_BACKOFF_SECONDS", 1800)
# Deliveries due for longer than this have lost their message: the periodic task re-publishes.
WEBHOOK_SWEEP_INTERVAL_SECONDS = env_int("WEBHOOK_SWEEP_INTERVAL_SECONDS", 60)

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["inspection.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["inspection.api.auth.HasApiKey"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "inspection.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Inspection API",
    "DESCRIPTION": "Submit package photos for inspection and collect the results.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the vendored sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Batch and image statuses are different enums; name them instead of a hash suffix.
    "ENUM_NAME_OVERRIDES": {
        "BatchStatusEnum": "inspection.models.Batch.Status",
        "ImageStatusEnum": "inspection.models.Image.Status",
    },
}

# --- Logging ---------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# plain (dev default) | json (production: one object per line, pipeline ids as keys)
LOG_FORMAT = env_str("LOG_FORMAT", "plain").strip().lower()
LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL)
if LOG_FORMAT == "json":
    # Now, not only when Django sets up: a Celery worker reads these settings long before that
    # and warns in between (py.warnings), and those lines must be JSON too.
    configure_early(LOGGING)

# --- Operations --------------------------------------------------------------------------------
# Each Celery worker's main process serves its pool's metrics here (0: no exporter). Multiprocess
# metrics need PROMETHEUS_MULTIPROC_DIR, one folder per host/container and exporter.
WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 9808)
WORKER_METRICS_ADDR = env_str("WORKER_METRICS_ADDR", "0.0.0.0")

# The partial unique index "one active policy per facility and model" exists on PostgreSQL;
# SQLite (embedded runs) cannot express NULLS NOT DISTINCT and relies on the service's checks.
SILENCED_SYSTEM_CHECKS = ["models.W047"]
