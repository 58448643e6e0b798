"""Errors in one shape: JSON for the API, a page for people."""

from __future__ import annotations

from flask import Flask, current_app, g, render_template, request
from flask_babel import gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from postal.errors import BodyTooLarge, InvalidPayload, PostalError, detail_of
from routes.i18n import message_of
from routes.inputs import size_text


def error_json(code: str, message: str, status: int):
    return {"error": {"code": code, "message": message}}, status


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def log_refusal() -> None:
    """Every 403 is logged with who asked for what."""
    actor = g.get("actor") or (current_user.user if current_user and current_user.is_authenticated else None)
    who = f"{actor.username} ({actor.role})" if actor is not None else "anonymous"
    current_app.logger.warning("403: %s refused %s %s", who, request.method, request.path)


def domain_error(err: PostalError):
    """A refused request: JSON for the API, the error page for people."""
    if err.status == 403:
        log_refusal()
    message = message_of(err)
    headers = getattr(err, "headers", {})  # e.g. Retry-After on a 503
    if wants_json():
        return *error_json(err.code, message, err.status), headers
    return render_template("errors/error.html", status=err.status, message=message), err.status, headers


def register(app: Flask) -> None:
    app.register_error_handler(PostalError, domain_error)

    @app.errorhandler(ValidationError)
    def bad_body(err: ValidationError):
        first = err.errors()[0] if err.errors() else {"type": "", "loc": (), "msg": ""}
        return error_json("invalid_payload", message_of(InvalidPayload(detail=detail_of(first))), 400)

    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError):
        message = gettext("Thiếu hoặc sai mã chống giả mạo (CSRF): hãy tải lại trang rồi thử lại.")
        if wants_json():
            return error_json("csrf_failed", message, 400)
        return render_template("errors/error.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        if err.response is not None:  # made already, e.g. a rate limit's own answer (routes.citizen)
            return err.response
        if err.code == 403:
            log_refusal()
        if err.code == 413:  # past the body limit (routes/inputs.py): the error's shape, and the limit
            return domain_error(BodyTooLarge(limit=size_text(request.max_content_length)))
        messages = {
            400: gettext("Yêu cầu không hợp lệ."),
            401: gettext("Cần đăng nhập hoặc mã truy cập hợp lệ."),
            403: gettext("Bạn không có quyền truy cập trang này."),
            404: gettext("Không tìm thấy trang hoặc dữ liệu yêu cầu."),
            405: gettext("Phương thức không được hỗ trợ."),
            429: gettext("Quá nhiều yêu cầu, vui lòng thử lại sau."),
        }
        message = messages.get(err.code or 500, err.description or "")
        headers = [(k, v) for k, v in err.get_headers() if k.lower() != "content-type"]  # e.g. Allow on a 405
        if wants_json():
            return *error_json(err.name.lower().replace(" ", "_"), message, err.code or 500), headers
        return render_template("errors/error.html", status=err.code, message=message), err.code or 500, headers

    @app.errorhandler(500)
    def server_error(err):
        message = gettext("Lỗi hệ thống; dữ liệu chưa được ghi. Vui lòng thử lại.")
        if wants_json():
            return error_json("server_error", message, 500)
        return render_template("errors/error.html", status=500, message=message), 500
