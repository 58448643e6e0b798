"""A bare Flask JSON endpoint: the yardstick for the scan endpoint on the same gunicorn stack."""

from flask import Flask, request

app = Flask(__name__)


@app.post("/api/v1/scans")
def echo():
    return {"results": [{"status": "accepted", "echo": request.get_json()}]}
