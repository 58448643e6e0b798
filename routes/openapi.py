"""The OpenAPI document, generated from the pydantic models that validate the requests."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from routes.inputs import BODY_BYTES, DOSSIER_BATCH_BYTES, SCAN_BATCH_BYTES, size_text

TOO_LARGE = (f"Body larger than the limit: {size_text(BODY_BYTES)}, a batch of scans {size_text(SCAN_BATCH_BYTES)}, "
             f"a batch of dossiers {size_text(DOSSIER_BATCH_BYTES)}")

ErrorSchema = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                             "required": ["code", "message"]}},
    "required": ["error"],
}


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    body: type[BaseModel] | None
    responses: dict[int, type[BaseModel] | str]
    public: bool
    query: dict[str, str] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)  # the refusals an operation answers, and when


@dataclass
class Spec:
    """Operations registered by the API blueprint, rendered as OpenAPI 3.1."""

    title: str
    version: str
    prefix: str
    operations: list[Operation] = field(default_factory=list)

    def operation(self, method: str, path: str, summary: str, *, body: type[BaseModel] | None = None,
                  responses: dict[int, type[BaseModel] | str] | None = None, public: bool = False,
                  query: dict[str, str] | None = None, errors: dict[int, str] | None = None) -> Callable:
        def record(view: Callable) -> Callable:
            self.operations.append(Operation(method, path, summary, body, responses or {}, public, query or {},
                                             errors or {}))
            return view
        return record

    def document(self) -> dict:
        models = {m for op in self.operations for m in [op.body, *op.responses.values()] if isinstance(m, type)}
        refs, defs = models_json_schema([(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
                                        ref_template="#/components/schemas/{model}")
        paths: dict[str, dict] = {}
        for op in self.operations:
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", op.path)
            entry: dict = {"summary": op.summary, "operationId": f"{op.method}_{path}".replace("/", "_").strip("_"),
                           "responses": {}}
            params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                      for n in re.findall(r"{(\w+)}", path)]
            params += [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}, "description": d}
                       for n, d in op.query.items()]
            if params:
                entry["parameters"] = params
            if op.body is not None:
                entry["requestBody"] = {"required": True, "content": {"application/json": {
                    "schema": refs[(op.body, "validation")]}}}
                entry["responses"]["413"] = {"description": TOO_LARGE, "content": {"application/json": {
                    "schema": ErrorSchema}}}
            for status, model in op.responses.items():
                if isinstance(model, str):
                    entry["responses"][str(status)] = {"description": "OK", "content": {model: {}}}
                else:
                    entry["responses"][str(status)] = {"description": model.__doc__ or model.__name__, "content": {
                        "application/json": {"schema": refs[(model, "validation")]}}}
            for status, why in op.errors.items():
                entry["responses"][str(status)] = {"description": why, "content": {"application/json": {
                    "schema": ErrorSchema}}}
            entry["responses"].setdefault("400", {"description": "Bad request", "content": {"application/json": {"schema": ErrorSchema}}})
            if not op.public:
                entry["security"] = [{"bearer": []}]
                entry["responses"]["401"] = {"description": "No or bad token", "content": {"application/json": {"schema": ErrorSchema}}}
            paths.setdefault(self.prefix + path, {})[op.method] = entry
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version},
            "paths": paths,
            "components": {"schemas": defs.get("$defs", {}),
                           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        }
