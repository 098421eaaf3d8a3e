"""The OpenAPI document and its viewers (Swagger UI, ReDoc) at FastAPI's usual paths.

Served by a router rather than by FastAPI itself so that, like every other endpoint but
``/healthz``, they need the API key when one is set. The pages are FastAPI's own.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse

__all__ = ["DOCS_PATH", "OAUTH2_REDIRECT_PATH", "OPENAPI_PATH", "REDOC_PATH", "router"]

OPENAPI_PATH: Final = "/openapi.json"
DOCS_PATH: Final = "/docs"
OAUTH2_REDIRECT_PATH: Final = "/docs/oauth2-redirect"
REDOC_PATH: Final = "/redoc"
# FastAPI serves its docs for GET and HEAD.
_METHODS: Final = ["GET", "HEAD"]

router = APIRouter(include_in_schema=False)


def _root_path(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


@router.api_route(OPENAPI_PATH, methods=_METHODS)
async def openapi(request: Request) -> JSONResponse:
    """The OpenAPI document; behind a proxy's root path, that path is its first server."""
    app: FastAPI = request.app
    root_path = _root_path(request)
    schema = app.openapi()
    if root_path and app.root_path_in_servers:
        server_urls = {s.get("url") for s in schema.get("servers", [])}
        if root_path not in server_urls:
            schema = {**schema, "servers": [{"url": root_path}, *schema.get("servers", [])]}
    return JSONResponse(schema)


@router.api_route(DOCS_PATH, methods=_METHODS)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over the OpenAPI document."""
    app: FastAPI = request.app
    root_path = _root_path(request)
    return get_swagger_ui_html(
        openapi_url=root_path + OPENAPI_PATH,
        title=f"{app.title} - Swagger UI",
        oauth2_redirect_url=root_path + OAUTH2_REDIRECT_PATH,
        init_oauth=app.swagger_ui_init_oauth,
        swagger_ui_parameters=app.swagger_ui_parameters,
    )


@router.api_route(OAUTH2_REDIRECT_PATH, methods=_METHODS)
async def swagger_ui_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 redirect page."""
    return get_swagger_ui_oauth2_redirect_html()


@router.api_route(REDOC_PATH, methods=_METHODS)
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc over the OpenAPI document."""
    app: FastAPI = request.app
    return get_redoc_html(openapi_url=_root_path(request) + OPENAPI_PATH, title=f"{app.title} - ReDoc")
