"""The framework ceiling for bench/load.py: a Starlette app whose one route does nothing."""

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def nothing(request):  # type: ignore[no-untyped-def]
    return JSONResponse({"ok": True})


app = Starlette(routes=[Route("/", nothing)])
