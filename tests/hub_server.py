"""A small in-memory Hugging Face Hub that speaks the HTTP protocol `huggingface_hub` 2.x uses.

It exists so that gandiff's Hub code is tested end to end over real HTTP, offline: the real
client library makes its real requests against this server. Only the routes gandiff's pushes
and pulls need are implemented, as the Hub answers them (checked against huggingface_hub
2.4.0's client code: `hf_api.py`, `_commit_api.py`, `lfs.py`, `file_download.py`,
`_snapshot_download.py`):

    POST /api/repos/create                          409 with `url` when the repo exists
    POST /api/validate-yaml                         the README.md metadata check
    POST /api/models/{repo}/preupload/{rev}         per file: uploadMode, shouldIgnore, oid
    POST /api/models/{repo}/commit/{rev}            NDJSON: header, file (base64), lfsFile
    POST /api/models/{repo}/branch/{branch}         create a branch
    GET  /api/models/{repo}[/revision/{rev}]        repo info: sha, siblings
    GET  /api/models/{repo}/tree/{rev}[/{path}]     the file listing snapshot_download reads
    HEAD /{repo}/resolve/{rev}/{path}               X-Repo-Commit, ETag, Content-Length; LFS
                                                    files: 302 to the "CDN" with X-Linked-Etag
    GET  /{repo}/resolve/{rev}/{path}               the content (LFS: the same redirect)
    POST /{repo}.git/info/lfs/objects/batch         LFS upload instructions (basic transfer)
    PUT  /lfs-upload/{sha256}                       the upload the batch call returns
    GET  /lfs-cdn/{sha256}                          LFS content, on a second port (another
                                                    origin, as the real CDN is)

Errors carry the Hub's `X-Error-Code` (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`).
Any other route is answered 400 and recorded in `unknown_requests`; the test fixture fails
the test when that list is not empty, so a client upgrade that changes the protocol shows up.

Faults are injected with `HubServer.inject` (see `Fault`): file content corrupted with its length
kept, an answer stalled for some seconds, a connection dropped without an answer, or an error
status (401, 403 gated, 404, 5xx) in place of the answer. The server listens on 127.0.0.1 only,
and stops itself after `lifetime` seconds, so a test that hangs cannot hang the suite.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

# What the Hub writes into a new repo: LFS rules for weight files.
GITATTRIBUTES = b"*.bin filter=lfs diff=lfs merge=lfs -text\n*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
LFS_SUFFIXES = (".safetensors", ".bin", ".png")
_DATE = "2024-01-01T00:00:00.000Z"


def git_blob_oid(content: bytes) -> str:
    """The git object id of a file: sha1 of ``blob <size>\\0<content>``."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class StoredFile:
    content: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def pointer(self) -> bytes:
        """The git-lfs pointer file git stores in place of an LFS file."""
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {len(self.content)}\n".encode()

    @property
    def git_oid(self) -> str:
        return git_blob_oid(self.pointer if self.lfs else self.content)

    @property
    def preupload_oid(self) -> str:
        # What the client compares with its local file to skip unchanged ones (CommitOperationAdd._local_oid).
        return self.sha256 if self.lfs else self.git_oid


@dataclass
class Fault:
    """What the server does to the requests that `match`, instead of answering them normally.

    Args:
        kind: ``"corrupt"`` (file content with one byte changed, same length), ``"stall"``
            (wait `seconds`, then answer), ``"drop"`` (close the connection without an answer),
            or ``"status"`` (answer `status` with the Hub's `code` in ``X-Error-Code`` and
            `message` in ``X-Error-Message``).
        match: a repo file path (its /resolve/ requests, and the CDN requests of its content)
            or a substring of the URL path (``"/api/models/"``).
        method: only requests of this method (``"HEAD"``, ``"GET"``); all by default.
        times: how many requests it hits before the server answers normally again; all by default.
    """

    kind: str
    match: str
    method: str | None = None
    seconds: float = 0.0
    status: int = 0
    code: str | None = None
    message: str | None = None
    times: int | None = None
    hits: int = 0


@dataclass
class Commit:
    oid: str
    message: str
    files: dict[str, StoredFile]


@dataclass
class Repo:
    repo_id: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)  # name -> commit oid

    def resolve(self, revision: str) -> Commit | None:
        oid = self.branches.get(revision, revision)
        return self.commits.get(oid)


class HubError(Exception):
    """An error answer: status, X-Error-Code, message."""

    def __init__(self, status: int, code: str | None, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class HubServer:
    """The Hub's state and two HTTP servers (the Hub, and a "CDN" for LFS content) in threads.

    Args:
        lfs: answer preupload with "lfs" for weight and image files (as the Hub does from
            ``.gitattributes``), so they go through the LFS batch + PUT upload; otherwise
            every file is "regular" (inline base64 in the commit).
    """

    def __init__(self, lfs: bool = False, lifetime: float = 120.0):
        self.lfs, self.lifetime = lfs, lifetime
        self.repos: dict[str, Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}  # sha256 -> content
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.unknown_requests: list[str] = []
        self.received_files: list[str] = []  # paths whose content reached the server (inline or LFS)
        self.authorizations: list[str | None] = []  # Authorization header of each request
        self.interrupt_downloads: set[str] = set()  # repo paths: send half, then go down
        self.faults: list[Fault] = []
        self.stopping = threading.Event()  # wakes stalled answers when the server stops
        self._lock = threading.Lock()
        self._commit_counter = 0
        self._servers: list[ThreadingHTTPServer] = []
        self.running = False

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> HubServer:
        handler = _make_handler(self)
        for _ in range(2):  # the Hub, then the CDN
            server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
            self._servers.append(server)
        self.running = True
        timer = threading.Timer(self.lifetime, self.stop)  # a hung test cannot keep the server alive
        timer.daemon = True
        timer.start()
        return self

    def stop(self) -> None:
        """Close both servers; later connections are refused."""
        if not self.running:
            return
        self.running = False
        self.stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def cdn(self) -> str:
        return f"http://127.0.0.1:{self._servers[1].server_address[1]}"

    def inject(self, kind: str, match: str, **options) -> Fault:
        """Add a `Fault` (see there for `kind`, `match` and the options); returns it (``.hits`` counts)."""
        if kind not in ("corrupt", "stall", "drop", "status"):
            raise ValueError(f"unknown fault {kind!r}")
        fault = Fault(kind, match, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    def fault_for(self, method: str, path: str) -> Fault | None:
        """The first fault that hits this request (and counts it), if any."""
        with self._lock:
            for fault in self.faults:
                if fault.method not in (None, method) or (fault.times is not None and fault.hits >= fault.times):
                    continue
                if fault.kind == "corrupt" and method != "GET":
                    continue  # only a GET carries content to corrupt
                if fault.match.startswith("/"):
                    hit = fault.match in path
                else:
                    hit = fault.match in self._files_served(path)
                if hit:
                    fault.hits += 1
                    return fault
        return None

    def _files_served(self, path: str) -> set[str]:
        """The repo paths whose content a request fetches: /{repo}/resolve/{rev}/{path}, or /lfs-cdn/{sha256}."""
        if "/resolve/" in path:
            return {path.split("/resolve/", 1)[1].split("/", 1)[-1]}
        if path.startswith("/lfs-cdn/"):
            oid = path.rsplit("/", 1)[1]
            return {
                file_path
                for repo in self.repos.values()
                for commit in repo.commits.values()
                for file_path, stored in commit.files.items()
                if stored.lfs and stored.sha256 == oid
            }
        return set()

    # -- state helpers --------------------------------------------------------------------------

    def repo(self, repo_id: str, authorization: str | None = None) -> Repo:
        repo = self.repos.get(repo_id)
        if repo is None or (repo.private and not authorization):
            # The Hub answers the same for a missing repo and a private one without credentials.
            raise HubError(404, "RepoNotFound", f"Repository {repo_id} not found")
        return repo

    def commit_of(self, repo: Repo, revision: str) -> Commit:
        commit = repo.resolve(revision)
        if commit is None:
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return commit

    def head(self, repo_id: str, branch: str = "main") -> str:
        """The commit oid at the tip of `branch`."""
        return self.repos[repo_id].branches[branch]

    def add_commit(self, repo: Repo, branch: str, message: str, files: dict[str, StoredFile]) -> Commit:
        with self._lock:
            self._commit_counter += 1
            oid = hashlib.sha1(f"{repo.repo_id}:{self._commit_counter}:{message}".encode()).hexdigest()
            commit = Commit(oid=oid, message=message, files=files)
            repo.commits[oid] = commit
            repo.branches[branch] = oid
        return commit


def _make_handler(hub: HubServer) -> type[BaseHTTPRequestHandler]:
    repo_re = r"(?P<repo>[^/]+/[^/]+)"
    routes = [
        ("POST", r"/api/repos/create", "create_repo"),
        ("POST", r"/api/validate-yaml", "validate_yaml"),
        ("POST", rf"/api/models/{repo_re}/preupload/(?P<rev>[^/]+)", "preupload"),
        ("POST", rf"/api/models/{repo_re}/commit/(?P<rev>[^/]+)", "commit"),
        ("POST", rf"/api/models/{repo_re}/branch/(?P<branch>[^/]+)", "create_branch"),
        ("GET", rf"/api/models/{repo_re}(?:/revision/(?P<rev>[^/]+))?", "repo_info"),
        ("GET", rf"/api/models/{repo_re}/tree/(?P<rev>[^/]+)(?:/(?P<path>.+))?", "tree"),
        ("HEAD", rf"/{repo_re}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve"),
        ("GET", rf"/{repo_re}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve"),
        ("POST", rf"/{repo_re}\.git/info/lfs/objects/batch", "lfs_batch"),
        ("PUT", r"/lfs-upload/(?P<oid>[0-9a-f]{64})", "lfs_upload"),
        ("GET", r"/lfs-cdn/(?P<oid>[0-9a-f]{64})", "lfs_download"),
    ]
    compiled = [(method, re.compile(pattern + "$"), name) for method, pattern, name in routes]

    class Handler(BaseHTTPRequestHandler):
        # One request per connection: once the server is stopped, no kept-alive connection
        # can still reach it, as with a real outage.
        protocol_version = "HTTP/1.0"

        def log_message(self, format, *args):  # keep pytest output clean
            pass

        def do_GET(self):
            self._dispatch("GET")

        def do_HEAD(self):
            self._dispatch("HEAD")

        def do_POST(self):
            self._dispatch("POST")

        def do_PUT(self):
            self._dispatch("PUT")

        def do_DELETE(self):
            self._dispatch("DELETE")

        # -- plumbing ---------------------------------------------------------------------------

        def _dispatch(self, method: str) -> None:
            url = urlsplit(self.path)
            self.query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            self.body = self._read_body()
            self.auth = self.headers.get("Authorization")
            hub.requests.append((method, url.path))
            hub.authorizations.append(self.auth)
            self.fault = hub.fault_for(method, url.path)
            if self.fault is not None and self._fault_answered():
                return
            for route_method, pattern, name in compiled:
                match = pattern.match(url.path) if route_method == method else None
                if match:
                    args = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
                    try:
                        getattr(self, name)(**args)
                    except HubError as err:
                        self._send_json(err.status, {"error": err.message}, {"X-Error-Code": err.code, **err.headers})
                    return
            hub.unknown_requests.append(f"{method} {self.path}")
            self._send_json(400, {"error": f"the test Hub does not know {method} {url.path}"})

        def _fault_answered(self) -> bool:
            """Apply a stall, drop or status fault; True when that was the whole answer."""
            fault = self.fault
            if fault.kind == "stall":
                hub.stopping.wait(fault.seconds)  # bounded; stop() ends the wait
                if not hub.stopping.is_set():
                    return False  # then answer normally, late
            elif fault.kind == "status":
                headers = {"X-Error-Code": fault.code, "X-Error-Message": fault.message}
                self._send_json(fault.status, {"error": fault.message or f"HTTP {fault.status}"}, headers)
                return True
            elif fault.kind == "corrupt":
                return False  # applied to the content in _send_file
            self.close_connection = True  # "drop", or a stall the server's stop ended: no answer at all
            return True

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _send(self, status: int, body: bytes, headers: dict, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for key, value in headers.items():
                if value is not None:
                    self.send_header(key, str(value))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _send_json(self, status: int, obj, headers: dict | None = None) -> None:
            self._send(status, json.dumps(obj).encode(), headers or {})

        def _send_file(self, content: bytes, headers: dict, interrupt: bool) -> None:
            if interrupt and self.command == "GET":
                # The server dies mid-transfer: half the bytes, then the connection and both
                # listening sockets close (in another thread: shutdown() waits for this one).
                self.send_response(200)
                self.send_header("Content-Length", str(len(content)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                self.wfile.write(content[: len(content) // 2])
                self.wfile.flush()
                self.close_connection = True
                threading.Thread(target=hub.stop, daemon=True).start()
                return
            if self.fault is not None and self.fault.kind == "corrupt" and content:
                middle = len(content) // 2  # one byte changed, the length kept: only a checksum can tell
                content = content[:middle] + bytes([content[middle] ^ 0xFF]) + content[middle + 1 :]
            self._send(200, content, headers, content_type="application/octet-stream")

        def _json_body(self):
            return json.loads(self.body or b"{}")

        def _endpoint(self) -> str:
            return hub.endpoint

        # -- routes -----------------------------------------------------------------------------

        def create_repo(self) -> None:
            payload = self._json_body()
            repo_id = (
                f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
            )
            url = f"{self._endpoint()}/{repo_id}"
            if repo_id in hub.repos:
                self._send_json(409, {"error": "You already created this model repo", "url": url})
                return
            repo = Repo(repo_id, private=payload.get("visibility") == "private" or bool(payload.get("private")))
            hub.repos[repo_id] = repo
            hub.add_commit(repo, "main", "initial commit", {".gitattributes": StoredFile(GITATTRIBUTES, lfs=False)})
            self._send_json(200, {"url": url, "name": repo_id, "id": repo_id})

        def validate_yaml(self) -> None:
            content = self._json_body()["content"]
            if not content.startswith("---\n"):
                self._send_json(400, {"errors": [{"message": "no YAML metadata block"}]})
                return
            self._send_json(200, {"errors": [], "warnings": []})

        def preupload(self, repo: str, rev: str) -> None:
            stored = hub.commit_of(hub.repo(repo, self.auth), rev).files
            answers = []
            for entry in self._json_body()["files"]:
                path = entry["path"]
                existing = stored.get(path)
                answers.append(
                    {
                        "path": path,
                        "uploadMode": "lfs" if hub.lfs and path.endswith(LFS_SUFFIXES) else "regular",
                        "shouldIgnore": False,
                        "oid": existing.preupload_oid if existing else None,
                    }
                )
            self._send_json(200, {"files": answers, "commitOid": hub.head(repo)})

        def commit(self, repo: str, rev: str) -> None:
            target = hub.repo(repo, self.auth)
            files = dict(hub.commit_of(target, rev).files)
            lines = [json.loads(line) for line in self.body.splitlines() if line.strip()]
            message = lines[0]["value"]["summary"] if lines and lines[0]["key"] == "header" else ""
            for line in lines[1:]:
                key, value = line["key"], line["value"]
                if key == "file":
                    files[value["path"]] = StoredFile(base64.b64decode(value["content"]), lfs=False)
                    hub.received_files.append(value["path"])
                elif key == "lfsFile":
                    content = hub.lfs_objects.get(value["oid"])
                    if content is None:
                        raise HubError(422, None, f"LFS object {value['oid']} of {value['path']} was never uploaded")
                    files[value["path"]] = StoredFile(content, lfs=True)
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                elif key == "deletedFolder":
                    files = {p: f for p, f in files.items() if not p.startswith(value["path"].rstrip("/") + "/")}
                else:
                    raise HubError(400, None, f"unknown commit operation {key!r}")
            branch = rev if rev in target.branches else "main"
            commit = hub.add_commit(target, branch, message, files)
            self._send_json(
                200,
                {
                    "success": True,
                    "commitOid": commit.oid,
                    "commitUrl": f"{self._endpoint()}/{repo}/commit/{commit.oid}",
                },
            )

        def create_branch(self, repo: str, branch: str) -> None:
            target = hub.repo(repo, self.auth)
            if branch in target.branches:
                raise HubError(409, None, f"Reference already exists: refs/heads/{branch}")
            start = self._json_body().get("startingPoint") or "main"
            target.branches[branch] = hub.commit_of(target, start).oid
            self._send_json(200, {})

        def repo_info(self, repo: str, rev: str = "main") -> None:
            target = hub.repo(repo, self.auth)
            commit = hub.commit_of(target, rev)
            self._send_json(
                200,
                {
                    "_id": hashlib.sha1(repo.encode()).hexdigest()[:24],
                    "id": repo,
                    "modelId": repo,
                    "sha": commit.oid,
                    "private": target.private,
                    "lastModified": _DATE,
                    "createdAt": _DATE,
                    "tags": [],
                    "siblings": [{"rfilename": path} for path in sorted(commit.files)],
                },
            )

        def tree(self, repo: str, rev: str, path: str = "") -> None:
            commit = hub.commit_of(hub.repo(repo, self.auth), rev)
            recursive = self.query.get("recursive", "false").lower() == "true"
            prefix = path.strip("/") + "/" if path else ""
            entries, folders = [], set()
            for file_path, stored in sorted(commit.files.items()):
                if not file_path.startswith(prefix):
                    continue
                relative = file_path[len(prefix) :]
                parts = relative.split("/")
                for depth in range(1, len(parts)):  # the folders on the way, once each
                    folder = prefix + "/".join(parts[:depth])
                    if (recursive or depth == 1) and folder not in folders:
                        folders.add(folder)
                        entries.append(
                            {
                                "type": "directory",
                                "oid": hashlib.sha1(folder.encode()).hexdigest(),
                                "size": 0,
                                "path": folder,
                            }
                        )
                if len(parts) > 1 and not recursive:
                    continue
                entry = {"type": "file", "oid": stored.git_oid, "size": len(stored.content), "path": file_path}
                if stored.lfs:
                    entry["lfs"] = {
                        "oid": stored.sha256,
                        "size": len(stored.content),
                        "pointerSize": len(stored.pointer),
                    }
                entries.append(entry)
            if prefix and not entries:
                raise HubError(404, "EntryNotFound", f"{path} does not exist on {rev}")
            self._send_json(200, entries)

        def resolve(self, repo: str, rev: str, path: str) -> None:
            commit = hub.commit_of(hub.repo(repo, self.auth), rev)
            stored = commit.files.get(path)
            if stored is None:
                raise HubError(404, "EntryNotFound", f"{path} does not exist on {rev}", {"X-Repo-Commit": commit.oid})
            headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{stored.git_oid}"', "Accept-Ranges": "bytes"}
            if stored.lfs:
                # As on the Hub: a redirect to the CDN; the file's own etag and size ride along.
                headers.update(
                    {
                        "Location": f"{hub.cdn}/lfs-cdn/{stored.sha256}",
                        "X-Linked-Etag": f'"{stored.sha256}"',
                        "X-Linked-Size": len(stored.content),
                    }
                )
                self._send(302, b"", headers)
                return
            self._send_file(stored.content, headers, interrupt=path in hub.interrupt_downloads)

        def lfs_batch(self, repo: str) -> None:
            hub.repo(repo, self.auth)
            payload = self._json_body()
            if payload.get("operation") != "upload":
                raise HubError(400, None, "only uploads are supported")
            objects = []
            for obj in payload["objects"]:
                answer = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
                if obj["oid"] not in hub.lfs_objects:
                    answer["actions"] = {"upload": {"href": f"{self._endpoint()}/lfs-upload/{obj['oid']}"}}
                objects.append(answer)
            self._send(
                200, json.dumps({"transfer": "basic", "objects": objects}).encode(), {}, "application/vnd.git-lfs+json"
            )

        def lfs_upload(self, oid: str) -> None:
            if hashlib.sha256(self.body).hexdigest() != oid:
                raise HubError(400, None, "uploaded content does not match its sha256")
            hub.lfs_objects[oid] = self.body
            hub.received_files.append(f"lfs:{oid}")
            self._send(200, b"", {})

        def lfs_download(self, oid: str) -> None:
            content = hub.lfs_objects.get(oid)
            if content is None:
                raise HubError(404, None, "no such object")
            interrupt = bool(hub._files_served(f"/lfs-cdn/{oid}") & hub.interrupt_downloads)
            self._send_file(content, {"ETag": f'"{oid}"'}, interrupt=interrupt)

    return Handler
