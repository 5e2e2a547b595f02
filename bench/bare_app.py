"""Framework ceilings for the benches: a Starlette app whose HTTP route does nothing
(bench/load.py) and whose WebSocket echoes each message back (bench/ws_watchers.py)."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


async def nothing(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[Route("/", nothing), WebSocketRoute("/echo", echo)])
