import os

from django.core.wsgi import get_wsgi_application

from config import default_settings_module

os.environ.setdefault("DJANGO_SETTINGS_MODULE", default_settings_module())

application = get_wsgi_application()

# gunicorn runs no system checks; refuse to serve with a misconfiguration that `check` would flag.
from core.checks import refuse_to_start_if_misconfigured  # noqa: E402
from core.memory import heap_freeze_after_start  # noqa: E402

refuse_to_start_if_misconfigured()
heap_freeze_after_start()
