"""The OpenAPI document and its viewers (Swagger UI, ReDoc) at FastAPI's usual paths.

Served by a router rather than by FastAPI itself so that, like every other endpoint but
``/healthz``, they need the API key when one is set. The pages are FastAPI's own.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse

__all__ = ["DOCS_PATH", "OAUTH2_REDIRECT_PATH", "OPENAPI_PATH", "REDOC_PATH", "exact_document", "router"]

OPENAPI_PATH: Final = "/openapi.json"
DOCS_PATH: Final = "/docs"
OAUTH2_REDIRECT_PATH: Final = "/docs/oauth2-redirect"
REDOC_PATH: Final = "/redoc"
# FastAPI serves its docs for GET and HEAD.
_METHODS: Final = ["GET", "HEAD"]

router = APIRouter(include_in_schema=False)

# FastAPI documents a 422 with its own body ({"detail": [errors]}) on every route with parameters.
# The collector answers a bad parameter with a 400 and a bad body with a 422, both {"detail": text}
# (errors.py), and each route declares those itself.
_FASTAPI_ERROR_SCHEMAS: Final = ("HTTPValidationError", "ValidationError")


_BEARER: Final = "bearer"


def exact_document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document as the collector behaves: without FastAPI's generic 422, which it
    never answers, and with the API key (``Authorization: Bearer``) every path but the open ones needs.

    The key is a dependency each router gets when it is included (app.py), which FastAPI does not
    document; it is declared here, once for every route.
    """
    from tracereel.collector.api import OPEN_PATHS  # the package imports this module

    schema = app.openapi()
    components = schema.setdefault("components", {})
    if _BEARER in components.get("securitySchemes", {}):
        return schema  # app.openapi() caches the document; it was made exact already
    components.setdefault("securitySchemes", {})[_BEARER] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (tracereel keys create), when the collector has keys",
    }
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            answer = operation.get("responses", {}).get("422", {})
            refs = {c.get("schema", {}).get("$ref", "") for c in answer.get("content", {}).values()}
            if any(ref.endswith("/HTTPValidationError") for ref in refs):
                del operation["responses"]["422"]
            if path not in OPEN_PATHS:
                operation["security"] = [{_BEARER: []}]
    for name in _FASTAPI_ERROR_SCHEMAS:
        components.get("schemas", {}).pop(name, None)
    return schema


def _root_path(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


@router.api_route(OPENAPI_PATH, methods=_METHODS)
async def openapi(request: Request) -> JSONResponse:
    """The OpenAPI document; behind a proxy's root path, that path is its first server."""
    app: FastAPI = request.app
    root_path = _root_path(request)
    schema = exact_document(app)
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
