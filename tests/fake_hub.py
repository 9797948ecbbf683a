"""A tiny stand-in for the Hugging Face Hub on 127.0.0.1: the few endpoints huggingface_hub calls
to create a repo, upload a folder in one commit, tag it, set Space variables and download files.

It keeps repos in memory, checks the bearer token on every write, and records each request
(without its Authorization header) so tests can assert what was sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Repo:
    kind: str  # "model" or "space"
    commits: list[dict] = field(default_factory=list)  # each: oid, message, files {path: bytes}
    refs: dict[str, str] = field(default_factory=dict)  # branch or tag -> commit oid
    variables: dict[str, str] = field(default_factory=dict)

    def files_at(self, revision: str) -> tuple[str, dict[str, bytes]] | None:
        oid = self.refs.get(revision, revision)
        for commit in self.commits:
            if commit["oid"] == oid:
                return oid, commit["files"]
        return None


class FakeHub:
    """Start with `with FakeHub(token) as hub:`; hub.url is the endpoint to give huggingface_hub."""

    def __init__(self, token: str):
        self.token = token
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[tuple[str, str, bytes]] = []  # (method, path, body) of every request
        self.lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                hub.handle(self, "HEAD")

            def do_GET(self):
                hub.handle(self, "GET")

            def do_POST(self):
                hub.handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeHub:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ request handling

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        path = request.path.split("?")[0]
        with self.lock:
            self.requests.append((method, path, body))
        authorised = request.headers.get("Authorization") == f"Bearer {self.token}"
        try:
            status, headers, payload = self.route(method, path, body, authorised)
        except Exception as err:  # a bug here should show up as a 500, not a hang
            status, headers, payload = 500, {}, json.dumps({"error": repr(err)}).encode()
        request.send_response(status)
        for key, value in {"Content-Type": "application/json", **headers}.items():
            request.send_header(key, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        if method != "HEAD":
            request.wfile.write(payload)

    def route(self, method: str, path: str, body: bytes, authorised: bool) -> tuple[int, dict, bytes]:
        def ok(value) -> tuple[int, dict, bytes]:
            return 200, {}, json.dumps(value).encode()

        def error(status: int, message: str) -> tuple[int, dict, bytes]:
            return status, {"X-Error-Message": message}, json.dumps({"error": message}).encode()

        if method == "POST" and not authorised:
            return error(401, "Invalid credentials in Authorization header")
        if method == "POST" and path == "/api/validate-yaml":  # the model card's metadata
            return ok({"errors": [], "warnings": []})
        if method == "POST" and path == "/api/repos/create":
            spec = json.loads(body)
            repo_id = f"{spec.get('organization') or 'user'}/{spec['name']}"
            kind = spec.get("type") or "model"
            self.repos.setdefault((kind, repo_id), Repo(kind))
            prefix = "" if kind == "model" else f"{kind}s/"
            return ok({"url": f"{self.url}/{prefix}{repo_id}", "name": repo_id})

        match = re.fullmatch(r"/api/(models|spaces)/([^/]+/[^/]+)/(preupload|commit|tag|variables)(?:/(.+))?", path)
        if method == "POST" and match:
            kind, repo_id, action, revision = match.group(1)[:-1], match.group(2), match.group(3), match.group(4)
            repo = self.repos.get((kind, repo_id))
            if repo is None:
                return error(404, "Repository not found")
            if action == "preupload":
                files = json.loads(body)["files"]
                return ok({"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                     for f in files]})
            if action == "commit":
                return ok(self.commit(repo, repo_id, revision or "main", body))
            if action == "tag":
                found = repo.files_at(revision)
                if found is None:
                    return error(404, "Revision not found")
                repo.refs[json.loads(body)["tag"]] = found[0]
                return ok({})
            spec = json.loads(body)
            repo.variables[spec["key"]] = spec["value"]
            return ok({k: {"value": v} for k, v in repo.variables.items()})

        match = re.fullmatch(r"/(?:(spaces)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if method in ("HEAD", "GET") and match:
            kind = "space" if match.group(1) else "model"
            repo = self.repos.get((kind, match.group(2)))
            found = repo.files_at(match.group(3)) if repo else None
            if found is None:
                return error(404, "Repository or revision not found")
            oid, files = found
            if match.group(4) not in files:
                return error(404, "Entry not found")
            data = files[match.group(4)]
            headers = {"X-Repo-Commit": oid, "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
                       "Content-Type": "application/octet-stream"}
            return 200, headers, data
        return error(404, f"fake hub: no route for {method} {path}")

    def commit(self, repo: Repo, repo_id: str, branch: str, body: bytes) -> dict:
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        header = next(line["value"] for line in lines if line["key"] == "header")
        parent = repo.files_at(repo.refs[branch])[1] if branch in repo.refs else {}
        files = dict(parent)
        for line in lines:
            if line["key"] == "file":
                files[line["value"]["path"]] = base64.b64decode(line["value"]["content"])
            elif line["key"] == "deletedFile":
                files.pop(line["value"]["path"], None)
        oid = hashlib.sha1(json.dumps(sorted((k, hashlib.sha256(v).hexdigest()) for k, v in files.items())).encode()
                           + str(len(repo.commits)).encode()).hexdigest()
        repo.commits.append({"oid": oid, "message": header.get("summary", ""), "files": files})
        repo.refs[branch] = oid
        prefix = "" if repo.kind == "model" else f"{repo.kind}s/"
        return {"commitUrl": f"{self.url}/{prefix}{repo_id}/commit/{oid}", "commitOid": oid, "pullRequestUrl": None}
