"""WSGI entry point (gunicorn serves this in `make run`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")
application = get_wsgi_application()
