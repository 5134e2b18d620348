"""Error pages: clear sentences for people, ids only for logs, never a stack trace."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound

log = logging.getLogger("relance_portal")


def correlation_id() -> str:
    """The id of this request, shown on the error page and written in the logs.

    API Gateway's request id when the app runs on Lambda, so a debtor's reference leads to
    the gateway's and the function's log lines; a random id elsewhere.
    """
    if "correlation_id" not in g:
        request_context = request.environ.get("apig_wsgi.request_context") or {}
        g.correlation_id = str(request_context.get("requestId") or uuid.uuid4().hex)
    return g.correlation_id


def register_error_pages(app: Flask) -> None:
    """Attach the portal's error pages to `app`."""
    app.register_error_handler(NotFound, _not_found)
    app.register_error_handler(CSRFError, _form_not_checked)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(HTTPException, _other_http_error)


def _not_found(error: NotFound):
    return render_template("errors/not_found.html"), 404


def _form_not_checked(error: CSRFError):
    log.warning("Form rejected", extra={"reason": "csrf", "endpoint": request.endpoint})
    return render_template("errors/form_not_checked.html"), 400


def _server_error(error: InternalServerError):
    return render_template("errors/server_error.html", reference=correlation_id()), 500


def _other_http_error(error: HTTPException):
    status = error.code or 500
    if status >= 500:
        return _server_error(InternalServerError())
    return render_template("errors/request_not_handled.html"), status
