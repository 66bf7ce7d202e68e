"""P4's reference: the same server stack (uvicorn + Starlette) serving the exposition as a static file."""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

app = Starlette(routes=[Mount("/", StaticFiles(directory=os.environ["P4_STATIC_DIR"]))])
