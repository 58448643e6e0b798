"""The OpenAPI document, generated from what the API's views are: their Flask rule (path parameters typed as the
converters read them), the roles `roles_required` lets in, the body limit, the pydantic models that validate the
bodies and shape the answers, the query parameters as the routes read them, and every status they can answer."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from models.shapes import STORABLE_PATTERN
from routes.inputs import BODY_BYTES, size_text

ErrorSchema = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                             "required": ["code", "message"]}},
    "required": ["error"],
}
ERRORS = {
    400: "Bad request: a body that is not JSON of the operation's shape, or a path segment or query parameter holding "
         "a character no table can keep",
    401: "No token, or one that is unknown, expired or revoked, or whose account is locked",
    403: "The caller's role (or site) may not do this",
    404: "No such object (or none the caller may see)",
    409: "Conflicts with what is stored (the object's state, or another body under the same key)",
    413: "Body larger than the limit",
    422: "A value is refused: the message names the field",
    429: "Too many requests from this address or for this dossier: try again later",
    503: "Busy writing other requests: nothing was written; retry after Retry-After seconds",
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "required": True, "schema": {"type": "string"}}}
# Flask's converters as OpenAPI reads them: int takes digits only; a text segment is at least one character, none
# that no table can keep (routes/inputs.py refuses them).
TEXT = {"type": "string", "minLength": 1, "pattern": STORABLE_PATTERN}
CONVERTERS = {"int": {"type": "integer", "minimum": 0}, "path": TEXT, None: TEXT}
Media = Mapping[str, type[BaseModel] | dict | None]  # media type -> its model, a JSON schema, or nothing said
Answer = type[BaseModel] | str | Media


@dataclass(frozen=True)
class Param:
    """A query parameter, as the route reads it."""

    description: str
    schema: dict = field(default_factory=lambda: {"type": "string", "maxLength": 200, "pattern": STORABLE_PATTERN})
    required: bool = False


def day_param(description: str) -> Param:
    return Param(description, {"type": "string", "format": "date"})


def choice_param(description: str, values) -> Param:
    return Param(description, {"type": "string", "enum": [str(v) for v in values]})


@dataclass
class Operation:
    method: str
    rule: str  # the Flask rule under the prefix, converters and all: /runs/<int:run_id>
    summary: str
    body: type[BaseModel] | None
    responses: dict[int, Answer]
    roles: tuple[str, ...] | None  # None: public
    body_bytes: int | None
    query: dict[str, Param] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    limited: bool = False
    writes: bool = True
    body_optional: bool = False  # no body at all is the model's defaults

    @property
    def path(self) -> str:
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.rule)

    def path_params(self) -> list[dict]:
        return [{"name": name, "in": "path", "required": True, "schema": dict(CONVERTERS[converter or None])}
                for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", self.rule)]

    def statuses(self) -> list[int]:
        """The error statuses it can answer: 400 always, 401 and 403 behind a token, 404 when the path names an
        object, 413 with a body, 422 when it reads a query, 429 when rate limited, 503 for a write (WriteBusy);
        with those the domain can raise (`errors`)."""
        found = {400, *self.errors}
        if self.roles is not None:
            found |= {401, 403}
        if "<" in self.rule:
            found.add(404)
        if self.body is not None:
            found.add(413)
        if self.query:
            found.add(422)
        if self.limited:
            found.add(429)
        if self.writes and self.method != "get":
            found.add(503)
        return sorted(found)


@dataclass
class Spec:
    """Operations registered by the API's blueprints, rendered as OpenAPI 3.1."""

    title: str
    version: str
    prefix: str
    operations: list[Operation] = field(default_factory=list)

    def operation(self, method: str, rule: str, summary: str, *, body: type[BaseModel] | None = None,
                  responses: dict[int, Answer] | None = None, query: dict[str, Param | str] | None = None,
                  errors: tuple[int, ...] | Mapping[int, str] = (), limited: bool = False, writes: bool = True,
                  body_optional: bool = False) -> Callable:
        """Document the view below: placed above `roles_required` (whose roles it reads; none: public) and
        `body_limit`; `errors` are the statuses the domain function can refuse with beyond those every operation
        of its kind has (Operation.statuses); a POST that only reads (tracking) says `writes=False`, one that
        takes no body as the model's defaults `body_optional=True`."""
        def record(view: Callable) -> Callable:
            roles = getattr(view, "roles", None)
            self.operations.append(Operation(method, rule, summary, body, responses or {},
                                             tuple(sorted(str(r) for r in roles)) if roles is not None else None,
                                             getattr(view, "body_bytes", None) or (BODY_BYTES if body else None),
                                             {name: p if isinstance(p, Param) else Param(p) for name, p in (query or {}).items()},
                                             tuple(sorted(errors)), limited, writes, body_optional))
            return view
        return record

    def document(self) -> dict:
        bodies, answers = self.models()
        refs, defs = models_json_schema([(m, "validation") for m in sorted(bodies, key=lambda m: m.__name__)]
                                        + [(m, "serialization") for m in sorted(answers, key=lambda m: m.__name__)],
                                        ref_template="#/components/schemas/{model}")
        paths: dict[str, dict] = {}
        for op in self.operations:
            paths.setdefault(self.prefix + op.path, {})[op.method] = self.entry(op, refs)
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version},
            "paths": paths,
            "components": {"schemas": {**defs.get("$defs", {}), "Error": ErrorSchema},
                           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        }

    def models(self) -> tuple[set[type[BaseModel]], set[type[BaseModel]]]:
        """The models of the bodies (read as the server validates them) and of the answers (as it dumps them)."""
        bodies, answers = set(), set()
        for op in self.operations:
            bodies |= {op.body} if op.body is not None else set()
            for answer in op.responses.values():
                answers |= {m for m in (answer.values() if isinstance(answer, Mapping) else [answer])
                            if isinstance(m, type)}
        return bodies, answers

    def entry(self, op: Operation, refs: dict) -> dict:
        entry: dict = {"summary": op.summary, "operationId": f"{op.method}_{op.path}".replace("/", "_").strip("_"),
                       "responses": {}}
        if op.roles is not None:
            entry["description"] = "Roles: " + ", ".join(op.roles)
            entry["security"] = [{"bearer": []}]
        params = op.path_params() + [{"name": name, "in": "query", "required": p.required, "description": p.description,
                                      "schema": p.schema} for name, p in op.query.items()]
        if params:
            entry["parameters"] = params
        if op.body is not None:
            entry["requestBody"] = {"required": not op.body_optional, "content": {"application/json": {
                "schema": refs[(op.body, "validation")]}}}
        for status, answer in op.responses.items():
            entry["responses"][str(status)] = answer_of(answer, refs)
        for status in op.statuses():
            words = ERRORS[status] + (f": {size_text(op.body_bytes)}" if status == 413 else "")
            entry["responses"][str(status)] = {"description": words, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}
            if status == 503:
                entry["responses"]["503"]["headers"] = RETRY_AFTER
        return entry


def answer_of(answer: Answer, refs: dict) -> dict:
    """A success response: a model (JSON), a media type (nothing said of its bytes), or media types to models,
    JSON schemas or nothing."""
    if isinstance(answer, str):
        answer = {answer: None}
    elif isinstance(answer, type):
        answer = {"application/json": answer}
    content: dict = {}
    described = "OK"
    for media, shape in answer.items():
        if isinstance(shape, type):
            content[media] = {"schema": refs[(shape, "serialization")]}
            described = shape.__doc__ or shape.__name__
        else:
            content[media] = {"schema": shape} if shape is not None else {}
    return {"description": described.strip(), "content": content}
