"""Dependencies of the routes: the app's Engine, and the Engine for a request with the write token."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from qa.service.engine import Engine

BEARER = HTTPBearer(auto_error=False, description="The server's QA_API_TOKEN; needed for writes.")


async def get_engine(request: Request) -> Engine:
    """The app's engine. A coroutine, so FastAPI calls it on the event loop: a plain function
    dependency is run in the thread pool, a thread hop on every request."""
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


async def require_writer(
    engine: EngineDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
) -> Engine:
    """The engine, for a request that carries the write token; 403 when writes are off, else 401.

    The comparison takes constant time, and neither the expected nor the given token is ever put
    in a response or a log line."""
    token = engine.settings.api_token
    expected = token.get_secret_value() if token is not None else ""
    if not expected:
        raise HTTPException(
            403,
            "writes are disabled on this server; set QA_API_TOKEN to enable them, then send "
            "Authorization: Bearer <that token>",
        )
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        problem = "wrong token" if given else "no bearer token"
        raise HTTPException(
            401,
            f"{problem}: send Authorization: Bearer <QA_API_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return engine


WriterDep = Annotated[Engine, Depends(require_writer)]
