"""Where pretrained files come from (a local folder or a Hugging Face Hub repo), and publishing.

Every ``from_pretrained`` in gandiff resolves its files through `resolve_path` (a whole saved
object) or `resolve_file` (one config file), so there is one place that knows where pretrained
files come from:

* a local folder written by ``save_pretrained`` is used as it is;
* a Hub repo id (``"namespace/name"``) is fetched into huggingface_hub's cache, and the cached
  snapshot is returned. Only what loading needs is downloaded: the config files, and for each
  model its safetensors weights. Pickled ``.bin`` weights are downloaded only when a model has
  no safetensors file and the caller passed ``allow_pickle=True``.
* with ``local_files_only=True`` or ``HF_HUB_OFFLINE=1`` the cache is used and no request is made;
  when the Hub cannot be reached, a cached copy is used too.

Every file from the Hub is checked against the hash the Hub states for it (the sha256 of an LFS
file, the git blob sha1 of a regular one) before it is used, fresh or cached; a corrupt one is
deleted from the cache (`HubChecksumError`). Every request is bounded by huggingface_hub's
timeouts (``HF_HUB_ETAG_TIMEOUT``, ``HF_HUB_DOWNLOAD_TIMEOUT``). Whatever goes wrong is raised
as one `HubError`, whose one-line message names the repo or file and the fix.

`push_to_hub` saves an object into a temporary folder, adds a model card, and uploads the folder
as one commit.

Nothing downloaded is executed: configs are JSON, weights are safetensors (or, when allowed,
pickles read with ``torch.load(weights_only=True)``), and classes named in a file are looked up
in the registry. huggingface_hub is imported inside the functions only, so ``import gandiff``
stays fast.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypedDict

from ._version import __version__
from .saving import PICKLE_WEIGHTS_NAMES, SAFETENSORS_WEIGHTS_NAMES, SAVE_MARKERS

logger = logging.getLogger(__name__)

__all__ = [
    "HubOptions",
    "check_hub_options",
    "pop_hub_options",
    "resolve_path",
    "resolve_file",
    "PushToHubMixin",
    "push_to_hub",
    "create_repo",
    "make_model_card",
    "is_repo_id",
    "HubError",
    "HubNotFoundError",
    "HubAccessError",
    "HubConnectionError",
    "HubTimeoutError",
    "HubChecksumError",
]

# "namespace/name" as the Hub spells repo ids. Only strings of this shape that are not an
# existing local path are looked up on the Hub, so a mistyped local path such as "./out" or
# "/data/run" never becomes a network request.
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
_MODEL_INDEX = "model_index.json"
_MODEL_CONFIG = "config.json"
_TRUE = {"1", "ON", "YES", "TRUE"}


def is_repo_id(pretrained_path: str | os.PathLike) -> bool:
    """Whether `pretrained_path` names a Hub repo rather than a local folder.

    Args:
        pretrained_path: a folder path or a repo id.

    Returns:
        True for a string shaped like ``"namespace/name"`` (or ``"name"``) that is not an
        existing local path.
    """
    return (
        isinstance(pretrained_path, str)
        and _REPO_ID.fullmatch(pretrained_path) is not None
        and not Path(pretrained_path).exists()
    )


# -- the Hub keyword arguments ----------------------------------------------------------------


class HubOptions(TypedDict, total=False):
    """The Hub keyword arguments of every ``from_pretrained`` and ``load_config``, typed once.

    Each of those methods takes them as ``**hub_options`` and hands them on unchanged to
    `resolve_path` or `resolve_file`, so a new option is added here and nowhere else. They apply
    when the path is a Hub repo id; a local folder has no versions, so ``revision`` is refused
    there, and the others are not used.

    Attributes:
        revision: a branch, tag or commit hash; the main branch by default.
        token: the access token for a private repo; by default the one saved by
            ``hf auth login`` or set in ``HF_TOKEN``.
        cache_dir: where downloads are cached; huggingface_hub's cache by default.
        local_files_only: use the cache and make no request (as when ``HF_HUB_OFFLINE=1``).
        force_download: download the files again even when they are cached (every file from
            the Hub is checked against the hash the Hub states, cached or not).
    """

    revision: str | None
    token: str | bool | None
    cache_dir: str | os.PathLike | None
    local_files_only: bool
    force_download: bool


def check_hub_options(options: Mapping[str, Any], caller: str) -> HubOptions:
    """`options` as `HubOptions`, after checking that it holds only Hub keyword arguments.

    Args:
        options: the keyword arguments a ``from_pretrained`` or ``load_config`` received.
        caller: the method's name, for the message, e.g. ``"UNet2DModel.from_pretrained"``.

    Returns:
        The same options.

    Raises:
        TypeError: for a keyword that is not a Hub option (a typo such as ``revison=``); the
            message names the valid ones.
    """
    unknown = sorted(set(options) - set(HubOptions.__annotations__))
    if unknown:
        raise TypeError(
            f"{caller}() got an unexpected keyword argument {unknown[0]!r}; "
            f"its Hub options are: {', '.join(HubOptions.__annotations__)}"
        )
    return HubOptions(**options)


def pop_hub_options(kwargs: dict[str, Any]) -> HubOptions:
    """Take the Hub keyword arguments out of `kwargs`, which keeps the rest (a pipeline's components).

    Args:
        kwargs: keyword arguments that mix Hub options with other names; changed in place.

    Returns:
        The Hub options that were in `kwargs`.
    """
    return HubOptions(**{name: kwargs.pop(name) for name in HubOptions.__annotations__ if name in kwargs})


# -- errors -----------------------------------------------------------------------------------


class HubError(OSError):
    """A Hub download that cannot go ahead; the message names the repo or file and the fix.

    Each subclass is also the built-in error of its kind, so ``except FileNotFoundError`` keeps
    working; ``except HubError`` catches them all (the CLI prints the message as one line).
    """


class HubNotFoundError(HubError, FileNotFoundError):
    """No such repo, revision or file, or (offline) not in the local cache."""


class HubAccessError(HubError, PermissionError):
    """The Hub refused access: a gated repo, or a missing or wrong token (HTTP 401/403)."""


class HubConnectionError(HubError, ConnectionError):
    """The Hub could not be reached, dropped the connection, or failed (HTTP 5xx)."""


class HubTimeoutError(HubError, TimeoutError):
    """The Hub did not answer a request within huggingface_hub's timeout."""


class HubChecksumError(HubError):
    """A downloaded file is not the file the Hub stated (it was deleted from the cache)."""


# -- resolution -------------------------------------------------------------------------------


def resolve_path(
    pretrained_path: str | os.PathLike,
    subfolder: str | None = None,
    *,
    revision: str | None = None,
    token: str | bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    force_download: bool = False,
    allow_pickle: bool = False,
) -> Path:
    """The local folder holding a saved object (`subfolder` inside `pretrained_path`).

    Args:
        pretrained_path: a folder written by ``save_pretrained`` (ours or diffusers'), or a
            Hub repo id ``"namespace/name"``.
        subfolder: the object's folder inside it, e.g. ``"unet"``.
        revision: Hub only: a branch, tag or commit hash; the main branch by default.
        token: Hub only: the access token for a private repo; by default the one saved by
            ``hf auth login`` or set in ``HF_TOKEN``.
        cache_dir: Hub only: where downloads are cached; huggingface_hub's cache by default.
        local_files_only: Hub only: use the cache and make no request (also when the
            ``HF_HUB_OFFLINE`` environment variable is set).
        force_download: Hub only: download every file again, even when it is cached.
        allow_pickle: Hub only: download a model's pickled ``.bin`` weights when it has no
            safetensors file. Off by default: a pickle from an untrusted source can carry code.

    Returns:
        The local folder; for a repo, inside the cached snapshot of the resolved commit. A
        pipeline's folder holds its ``model_index.json`` and the files of every component.
        Every file from the Hub is checked against the hash the Hub states for it.

    Raises:
        HubError: when the Hub cannot serve the files (see its subclasses); the message names
            the repo or file and the fix.
    """
    if not is_repo_id(pretrained_path):
        return _local_folder(pretrained_path, subfolder, revision)
    hub = _HubRequest(str(pretrained_path), revision, token, cache_dir, local_files_only, force_download)
    prefix = f"{subfolder.strip('/')}/" if subfolder else ""

    # 1. The object's own config files. This also pins the commit: step 2 reads the same
    #    version even if the branch moves meanwhile.
    snapshot = hub.download([prefix + name for name in SAVE_MARKERS])
    if not any((snapshot / prefix / name).is_file() for name in SAVE_MARKERS):
        raise hub.missing(f"{' or '.join(SAVE_MARKERS)} {f'in {prefix!r}' if prefix else 'at its root'}")

    # 2. The files of the object, or of every component a pipeline's model_index.json names.
    index = snapshot / prefix / _MODEL_INDEX
    folders = [prefix + name + "/" for name in _component_names(index)] if index.is_file() else [prefix]
    available = hub.files()
    wanted = []
    for folder in folders:
        configs = [folder + name for name in SAVE_MARKERS if folder + name in available]
        if not configs:
            raise hub.missing(f"config.json or scheduler_config.json in {folder!r} (named in {_MODEL_INDEX})")
        wanted += configs
        if folder + _MODEL_CONFIG in available:  # a model: one weights file
            wanted += _weights_file(hub.repo_id, folder, available, allow_pickle)
    hub.download(wanted)
    return snapshot / prefix if prefix else snapshot


def resolve_file(
    pretrained_path: str | os.PathLike,
    filename: str,
    subfolder: str | None = None,
    *,
    revision: str | None = None,
    token: str | bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    force_download: bool = False,
) -> Path:
    """The local path of `filename` in a saved folder or Hub repo (only that file is downloaded).

    Args:
        pretrained_path: a local folder, or a Hub repo id ``"namespace/name"``.
        filename: the file's name, e.g. ``"scheduler_config.json"``.
        subfolder: the folder inside `pretrained_path` that holds it.
        revision, token, cache_dir, local_files_only, force_download: Hub only; as for
            `resolve_path`.

    Returns:
        The local path of the file (in huggingface_hub's cache for a repo, checked against the
        hash the Hub states for it).

    Raises:
        FileNotFoundError: when the file is missing; the message names what the folder or
            repo holds.
        HubError: when the Hub cannot serve the file (see its subclasses).
    """
    if not is_repo_id(pretrained_path):
        folder = _local_folder(pretrained_path, subfolder, revision)
        path = folder / filename
        if not path.exists():  # a folder or FIFO of that name is the reader's error to explain
            present = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
            raise FileNotFoundError(f"{folder} has no {filename}; it holds: {present}")
        return path
    hub = _HubRequest(str(pretrained_path), revision, token, cache_dir, local_files_only, force_download)
    repo_path = f"{subfolder.strip('/')}/{filename}" if subfolder else filename
    snapshot = hub.download([repo_path])
    if not (snapshot / repo_path).is_file():
        raise hub.missing(repo_path)
    return snapshot / repo_path


def _local_folder(pretrained_path: str | os.PathLike, subfolder: str | None, revision: str | None) -> Path:
    if revision is not None:  # silently loading the folder's version instead would be a surprise
        raise ValueError(
            f"revision={revision!r} selects a version of a Hub repo; {str(pretrained_path)!r} is a local path"
        )
    root = Path(pretrained_path).expanduser()
    if not root.is_dir():
        hint = " or a Hub repo id 'namespace/name'" if isinstance(pretrained_path, str) else ""
        raise FileNotFoundError(
            f"no folder at {str(pretrained_path)!r}; pass the folder written by save_pretrained{hint}"
        )
    folder = root / subfolder if subfolder else root
    if not folder.is_dir():
        present = ", ".join(sorted(p.name for p in root.iterdir() if p.is_dir())) or "none"
        raise FileNotFoundError(f"{root} has no subfolder {subfolder!r}; subfolders present: {present}")
    return folder


def _offline_reason(local_files_only: bool) -> str | None:
    """Why no request may be made (``local_files_only``, ``HF_HUB_OFFLINE``), or None."""
    from huggingface_hub import constants

    if local_files_only:
        return "downloads are off (local_files_only=True)"
    # huggingface_hub reads HF_HUB_OFFLINE once, at import; reading it again here also honours
    # a variable set later in the process (a notebook, a test).
    if constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").upper() in _TRUE:
        return "downloads are off (HF_HUB_OFFLINE is set)"
    return None


def _component_names(model_index: Path) -> list[str]:
    """The component folders a pipeline's model_index.json names (absent optional ones skipped)."""
    try:
        index = json.loads(model_index.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # unreadable, not UTF-8 JSON, or nested too deep
        return []  # Pipeline.from_pretrained reports the broken file when it reads it
    if not isinstance(index, dict):
        return []
    return [
        name
        for name, entry in index.items()
        if not name.startswith("_") and isinstance(entry, list) and len(entry) == 2 and entry[0] is not None
    ]


def _weights_file(repo_id: str, folder: str, available: set[str], allow_pickle: bool) -> list[str]:
    """The one weights file of a model folder to download: safetensors first, in read order."""
    for name in SAFETENSORS_WEIGHTS_NAMES:
        if folder + name in available:
            return [folder + name]
    pickles = [folder + name for name in PICKLE_WEIGHTS_NAMES if folder + name in available]
    if pickles and not allow_pickle:
        raise ValueError(
            f"the Hub repo {repo_id!r} holds only pickled weights for {folder or 'its model'} ({pickles[0]}), so "
            "nothing was downloaded. Pickles can run code when loaded; if you trust the source, pass "
            "allow_pickle=True (read with torch.load(weights_only=True)), or ask for a safetensors conversion."
        )
    return pickles[:1]  # none: the model's loader reports the missing weights


class _HubRequest:
    """One repo at one commit, with one set of credentials: checked downloads, and the errors they explain.

    The first `download` pins the commit: online, one repo-info request resolves the revision
    and lists the repo's files; when the Hub cannot be reached (or downloads are off) the cached
    snapshot of the revision is used instead. Every request is bounded by huggingface_hub's
    timeouts (``HF_HUB_ETAG_TIMEOUT`` for metadata, ``HF_HUB_DOWNLOAD_TIMEOUT`` for transfers).
    """

    def __init__(self, repo_id: str, revision: str | None, token, cache_dir, local_files_only: bool, force_download):
        from huggingface_hub import constants
        from huggingface_hub.file_download import repo_folder_name

        self.repo_id, self.revision, self.token = repo_id, revision, token
        self.cache_dir = None if cache_dir is None else str(cache_dir)
        self.offline_reason = _offline_reason(local_files_only)  # why only the cache is used, or None
        if force_download and self.offline_reason:
            raise ValueError(f"force_download=True downloads the files again, but {self.offline_reason}")
        self.force_download = force_download
        self.storage = Path(self.cache_dir or constants.HF_HUB_CACHE) / repo_folder_name(
            repo_id=repo_id, repo_type="model"
        )
        self.commit: str | None = None
        self.listing: set[str] | None = None  # the repo's files at `commit`; None when serving the cache
        self.fetched: set[str] = set()

    @property
    def snapshot(self) -> Path:
        return self.storage / "snapshots" / self.commit

    def download(self, paths: list[str]) -> Path:
        """Fetch those of `paths` the repo holds (once each, checked) and return the snapshot folder."""
        from huggingface_hub import constants, get_hf_file_metadata, hf_hub_download, hf_hub_url

        self._pin()
        for path in paths:
            if path in self.fetched or (self.listing is not None and path not in self.listing):
                continue
            if self.listing is None:  # from the cache only: what is not there stays missing
                local = self.snapshot / path
                if not local.is_file():
                    continue
            else:
                with self.explained(path):
                    if self.force_download or not (self.snapshot / path).exists():
                        # huggingface_hub retries a HEAD that failed for a file it has not cached, 6 times
                        # with a fixed 60 s timeout, whatever HF_HUB_ETAG_TIMEOUT says (a stalled Hub
                        # hangs for 6 minutes). One HEAD of our own, within the limit, fails fast instead.
                        get_hf_file_metadata(
                            hf_hub_url(self.repo_id, path, revision=self.commit),
                            token=self.token,
                            timeout=constants.HF_HUB_ETAG_TIMEOUT,
                        )
                    local = hf_hub_download(
                        self.repo_id,
                        path,
                        revision=self.commit,  # a commit hash: a cached file is used without a request
                        token=self.token,
                        cache_dir=self.cache_dir,
                        force_download=self.force_download,
                        library_name="gandiff",
                        library_version=__version__,
                    )
            _verify_download(Path(local), path, self.repo_id)
            self.fetched.add(path)
        return self.snapshot

    def _pin(self) -> None:
        """Resolve the revision to a commit, and list the repo's files there (once)."""
        from huggingface_hub import constants

        if self.commit is not None:
            return
        if self.offline_reason is None:
            api = _hf_api()
            try:
                with self.explained():
                    info = api.model_info(
                        self.repo_id, revision=self.revision, token=self.token, timeout=constants.HF_HUB_ETAG_TIMEOUT
                    )
            except (HubConnectionError, HubTimeoutError) as err:
                # As huggingface_hub does: when the Hub is down, a cached copy still loads.
                self.commit = self._cached_commit()
                if self.commit is None:
                    raise
                logger.warning("%s; loading the cached copy (commit %s)", err, self.commit)
                self.offline_reason = "the Hub could not be reached"
                return
            self.commit, self.listing = info.sha, {sibling.rfilename for sibling in info.siblings or []}
            self._remember_revision()
            return
        self.commit = self._cached_commit()
        if self.commit is None:
            raise HubNotFoundError(f"the Hub repo {self.repo_id!r} (revision {self._revision!r}) {self._not_cached()}")

    @property
    def _revision(self) -> str:
        return self.revision or "main"

    def _cached_commit(self) -> str | None:
        """The commit the cache holds for the revision (a commit hash, or a branch or tag seen online)."""
        if _COMMIT_HASH.fullmatch(self._revision):
            return self._revision if (self.storage / "snapshots" / self._revision).is_dir() else None
        try:
            commit = (self.storage / "refs" / self._revision).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return commit if (self.storage / "snapshots" / commit).is_dir() else None

    def _remember_revision(self) -> None:
        """Record branch/tag -> commit in the cache (`refs/`, huggingface_hub's layout), for offline use."""
        if self._revision == self.commit:
            return
        ref = self.storage / "refs" / self._revision
        try:
            if ref.is_file() and ref.read_text(encoding="utf-8") == self.commit:
                return
            ref.parent.mkdir(parents=True, exist_ok=True)
            tmp = ref.with_name(f".{ref.name}.{os.getpid()}.tmp")
            tmp.write_text(self.commit, encoding="utf-8")
            os.replace(tmp, ref)  # atomic: a reader never sees half a commit hash
        except OSError as err:  # a read-only cache still downloads; only offline use needs the ref
            logger.warning("could not record %s of %s in the cache: %s", self._revision, self.repo_id, err)

    def files(self) -> set[str]:
        """The repo's files at the pinned commit; only the cached ones when serving the cache."""
        if self.listing is not None:
            return self.listing
        return {p.relative_to(self.snapshot).as_posix() for p in self.snapshot.rglob("*") if p.is_file()}

    def missing(self, what: str) -> HubNotFoundError:
        """The error for a file or folder the repo (or, offline, the cache) does not have."""
        if self.listing is None:
            return HubNotFoundError(
                f"the Hub repo {self.repo_id!r} (revision {self._revision!r}): {what} {self._not_cached()}"
            )
        present = sorted(self.listing)
        shown = ", ".join(present[:20]) + (f", ... ({len(present) - 20} more)" if len(present) > 20 else "")
        return HubNotFoundError(
            f"the Hub repo {self.repo_id!r} at revision {self._revision!r} has no {what}; it holds: "
            f"{shown or 'nothing'}. Check the subfolder name, or the repo: is it a gandiff or diffusers save?"
        )

    def _not_cached(self) -> str:
        return (
            f"is not in the local cache ({self.storage.parent}), and {self.offline_reason}. "
            "Go online once to download it (unset HF_HUB_OFFLINE, local_files_only=False), or load from a local folder."
        )

    @contextlib.contextmanager
    def explained(self, path: str | None = None) -> Iterator[None]:
        """Turn huggingface_hub's and the network's errors into a `HubError` naming the fix."""
        try:
            yield
        except HubError:
            raise
        except Exception as err:
            explained = self._explain(err, path)
            if explained is None:
                raise
            raise explained from err

    def _explain(self, err: Exception, path: str | None) -> HubError | None:
        from huggingface_hub import constants
        from huggingface_hub.errors import (
            EntryNotFoundError,
            GatedRepoError,
            HfHubHTTPError,
            LocalEntryNotFoundError,
            OfflineModeIsEnabled,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        repo, hub, revision = repr(self.repo_id), f"the Hub at {constants.ENDPOINT}", self._revision
        what = f"{path!r} of the Hub repo {repo}" if path else f"the Hub repo {repo}"
        # huggingface_hub wraps the network's error (LocalEntryNotFoundError from a failed HEAD,
        # ValueError under force_download): the first error of the chain that says what happened.
        for cause in _error_chain(err):
            request = _timed_out_request(cause)
            if request is not None:
                method, url = request
                transfer = method == "GET" and "/api/" not in url
                variable = "HF_HUB_DOWNLOAD_TIMEOUT" if transfer else "HF_HUB_ETAG_TIMEOUT"
                limit = constants.HF_HUB_DOWNLOAD_TIMEOUT if transfer else constants.HF_HUB_ETAG_TIMEOUT
                return HubTimeoutError(
                    f"{hub} did not answer within {limit} s: {method} {url} ({what}). Retry later, or allow more "
                    f"time with the environment variable {variable}=60 (seconds, set before Python starts)"
                )
            if isinstance(cause, GatedRepoError):
                return HubAccessError(
                    f"the Hub repo {repo} is gated: accept its conditions on its page, then log in "
                    "(`hf auth login`, or set HF_TOKEN) or pass token="
                )
            if isinstance(cause, RepositoryNotFoundError):
                return HubNotFoundError(
                    f"{repo} is not a local folder, and {hub} has no repo {repo} that you can access: check the name "
                    "(namespace/name); if the repo is private, log in (`hf auth login`, or set HF_TOKEN) or pass token="
                )
            if isinstance(cause, RevisionNotFoundError):
                return HubNotFoundError(
                    f"the Hub repo {repo} has no revision {revision!r}: check the branch, tag or commit hash, "
                    "or leave revision=None for the main branch"
                )
            if isinstance(cause, EntryNotFoundError):
                return HubNotFoundError(
                    f"the Hub repo {repo} at revision {revision!r} lists {path!r} but has no such file"
                )
            if isinstance(cause, HfHubHTTPError):
                status = cause.response.status_code if cause.response is not None else None
                url = cause.response.url if cause.response is not None else constants.ENDPOINT
                if status in (401, 403):
                    return HubAccessError(
                        f"{hub} refused access to {what} (HTTP {status}): log in (`hf auth login`, or set HF_TOKEN) "
                        "or pass a token with read access to the repo"
                    )
                if status == 404:
                    return HubNotFoundError(
                        f"{hub} answered HTTP 404 for {url} ({what}): check the repo id, and that HF_ENDPOINT is a Hub"
                    )
                return HubConnectionError(f"{hub} failed on {what} (HTTP {status} for {url}). Retry later.")
            if _is_network_error(cause):
                return HubConnectionError(
                    f"downloading {repo}{f' ({path})' if path else ''} from {hub} failed ({type(cause).__name__}: "
                    f"{' '.join(str(cause).split())}). Check your connection (and HF_ENDPOINT) and retry; incomplete "
                    "downloads are discarded, never kept in the cache. Files downloaded before load without a "
                    "connection: HF_HUB_OFFLINE=1 or local_files_only=True"
                )
        if isinstance(err, (LocalEntryNotFoundError, OfflineModeIsEnabled)):
            if self.offline_reason:
                return HubNotFoundError(f"{what} (revision {revision!r}) {self._not_cached()}")
            return HubConnectionError(
                f"could not reach {hub}, and {what} (revision {revision!r}) is not in the local cache: "
                "check your connection (and HF_ENDPOINT), then retry"
            )
        return None


_COMMIT_HASH = re.compile(r"[0-9a-f]{40}")


def _error_chain(err: BaseException) -> Iterator[BaseException]:
    """`err`, then the errors it was raised from or during (a few, against cycles)."""
    seen = 0
    while err is not None and seen < 8:
        yield err
        err, seen = err.__cause__ or err.__context__, seen + 1


def _timed_out_request(err: BaseException) -> tuple[str, str] | None:
    """(method, URL) of the request a timeout error ended, or None for other errors."""
    clients = [sys.modules.get(name) for name in ("httpx2", "httpx")]
    timeouts = tuple(client.TimeoutException for client in clients if client is not None)
    if not timeouts or not isinstance(err, timeouts):
        return None
    try:
        return err.request.method, str(err.request.url)
    except RuntimeError:  # raised before a request was attached
        return "a request", "to the Hub"


def _is_network_error(err: BaseException) -> bool:
    """A transport error of huggingface_hub's HTTP client, or its OSError for an incomplete download.

    huggingface_hub 2.x talks through httpx2 (1.x: httpx); whichever it uses is already imported,
    so nothing new is imported here. An OSError with an errno (disk full, a read-only cache) is a
    local error, not the network's.
    """
    clients = (sys.modules.get("httpx2"), sys.modules.get("httpx"))
    transport = tuple(client.TransportError for client in clients if client is not None)
    return isinstance(err, transport) or (type(err) is OSError and err.errno is None)


# -- checking downloads -----------------------------------------------------------------------

# Files checked in this process, by (blob path, size, mtime): loading the same weights again
# does not hash them again. Another process checks them once more.
_VERIFIED: set[tuple[str, int, int]] = set()


def _verify_download(local: Path, repo_path: str, repo_id: str) -> None:
    """Check a file from the Hub against the hash the Hub stated for it; delete it if it differs.

    huggingface_hub checks only a download's size. It stores each file's content once, as
    ``blobs/<etag>``, named after the ETag the Hub sent (its cache layout): the sha256 of the
    content for LFS files (``X-Linked-Etag``), the git blob sha1 for regular files. So the name
    states what the content must hash to, for a fresh download and a cached one alike, with no
    request. A blob named otherwise (a mirror's own ETag, a cache without symlinks) states no
    hash and is used as it is.
    """
    from huggingface_hub.utils.sha import git_hash, sha_fileobj

    blob = local.resolve()
    if _SHA256.fullmatch(blob.name):
        algorithm = "sha256"
    elif _COMMIT_HASH.fullmatch(blob.name):
        algorithm = "git blob sha1"
    else:
        return
    stat = blob.stat()
    key = (str(blob), stat.st_size, stat.st_mtime_ns)
    if key in _VERIFIED:
        return
    with blob.open("rb") as content:
        # Regular (non-LFS) files are small on the Hub (at most 10 MB), so git_hash may read one whole.
        actual = sha_fileobj(content).hex() if algorithm == "sha256" else git_hash(content.read())
    if actual != blob.name:
        local.unlink(missing_ok=True)  # the snapshot's link, then the content it points to
        blob.unlink(missing_ok=True)
        raise HubChecksumError(
            f"the download of {repo_path!r} from the Hub repo {repo_id!r} is corrupt: its {algorithm} is {actual}, "
            f"the Hub states {blob.name}. The corrupt copy was deleted from the cache; load again to download it "
            "again (force_download=True downloads every file of it again)"
        )
    _VERIFIED.add(key)


_SHA256 = re.compile(r"[0-9a-f]{64}")


# -- publishing -------------------------------------------------------------------------------


def push_to_hub(
    obj: Any,
    repo_id: str,
    *,
    private: bool | None = None,
    token: str | None = None,
    commit_message: str | None = None,
    revision: str | None = None,
    metrics: Mapping[str, float] | None = None,
    sample_grid: Any = None,
):
    """Publish `obj` (a model, scheduler or pipeline) to the Hub repo `repo_id` in one commit.

    The repo is created if needed (``private`` applies only then); `obj.save_pretrained` writes
    into a temporary folder, a model card (``README.md``) is added, and the folder is uploaded.
    Files that did not change are not uploaded again, and an unchanged object makes no commit.

    Args:
        obj: anything with ``save_pretrained(folder)``.
        repo_id: ``"namespace/name"`` (a bare name goes to the token owner's namespace).
        private: make a new repo private; ``None`` uses the Hub's default (public).
        token: a token with write access; by default the one of ``hf auth login`` / ``HF_TOKEN``.
        commit_message: defaults to ``"Upload <ClassName> with gandiff"``.
        revision: the branch to commit to (created from main if missing); main by default.
        metrics: evaluation numbers for the model card, e.g. ``{"FID": 12.3}``.
        sample_grid: a PIL image (or the path of an image file) shown in the model card.

    Returns:
        huggingface_hub's ``CommitInfo`` (``.oid``, ``.commit_url``) of the commit.
    """
    api = _hf_api(token)
    repo_id = create_repo(repo_id, private=private, token=token)
    if revision is not None and revision != "main":
        api.create_branch(repo_id, branch=revision, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gandiff-push-") as tmp:
        folder = Path(tmp) / "upload"
        obj.save_pretrained(folder)
        sample_file = _write_sample_grid(sample_grid, folder) if sample_grid is not None else None
        card = make_model_card(folder, repo_id, type(obj), metrics=metrics, sample_file=sample_file)
        card.save(folder / "README.md")
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            commit_message=commit_message or f"Upload {type(obj).__name__} with gandiff",
            revision=revision,
        )


def create_repo(repo_id: str, *, private: bool | None = None, token: str | None = None) -> str:
    """Create the Hub repo `repo_id`, or check that it exists, with a token that may write there.

    `gandiff train --push-to-hub` calls it before training, so that a missing login or an
    unreachable Hub is reported at once rather than after the run.

    Args:
        repo_id, private, token: as for `push_to_hub`.

    Returns:
        The repo id, with its namespace.

    Raises:
        HubAccessError: the Hub refused (HTTP 401/403: not logged in, or no write access there).
        HubConnectionError: the Hub could not be reached, or failed.
        HubTimeoutError: the Hub did not answer in time.
    """
    from huggingface_hub import constants
    from huggingface_hub.errors import HfHubHTTPError

    hub = f"the Hub at {constants.ENDPOINT}"
    api = _hf_api(token)
    try:
        return api.create_repo(repo_id, private=private, exist_ok=True).repo_id
    except HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else None
        if status in (401, 403):
            raise HubAccessError(
                f"{hub} refused to create or write the repo {repo_id!r} (HTTP {status}): log in (`hf auth login`, or "
                "set HF_TOKEN) with a token that can write to its namespace"
            ) from err
        raise HubConnectionError(f"{hub} failed to create the repo {repo_id!r} (HTTP {status}). Retry later.") from err
    except Exception as err:
        for cause in _error_chain(err):
            if _timed_out_request(cause) is not None:
                raise HubTimeoutError(
                    f"{hub} did not answer in time when creating the repo {repo_id!r}; retry later"
                ) from err
            if _is_network_error(cause):
                raise HubConnectionError(
                    f"could not reach {hub} to create the repo {repo_id!r} ({type(cause).__name__}: "
                    f"{' '.join(str(cause).split())}); check your connection (and HF_ENDPOINT), then retry"
                ) from err
        raise


def _hf_api(token: str | None = None):
    """huggingface_hub's client, naming gandiff and its version in the user agent of every request."""
    from huggingface_hub import HfApi

    return HfApi(token=token, library_name="gandiff", library_version=__version__)


class PushToHubMixin:
    """``push_to_hub`` for every class with ``save_pretrained(folder)``: models, schedulers, pipelines."""

    def push_to_hub(
        self,
        repo_id: str,
        private: bool | None = None,
        token: str | None = None,
        commit_message: str | None = None,
        revision: str | None = None,
        *,
        metrics: Mapping[str, float] | None = None,
        sample_grid: Any = None,
    ):
        """Upload ``save_pretrained``'s files and a model card to the Hub repo `repo_id`, in one commit.

        The card shows the saved configs, a usage snippet, and `metrics` and `sample_grid` when
        given. The repo is created when missing; unchanged files are not uploaded again.

        Args:
            repo_id, private, token, commit_message, revision, metrics, sample_grid: as for
                `gandiff.hub.push_to_hub`.

        Returns:
            huggingface_hub's ``CommitInfo`` of the commit (``.oid``, ``.commit_url``).
        """
        return push_to_hub(
            self,
            repo_id,
            private=private,
            token=token,
            commit_message=commit_message,
            revision=revision,
            metrics=metrics,
            sample_grid=sample_grid,
        )


def _write_sample_grid(sample_grid: Any, folder: Path) -> str:
    if hasattr(sample_grid, "save"):  # a PIL image
        sample_grid.save(folder / "samples.png")
        return "samples.png"
    source = Path(sample_grid)
    if not source.is_file():
        raise FileNotFoundError(f"sample_grid {str(sample_grid)!r} is neither a PIL image nor an image file")
    name = "samples" + source.suffix.lower()
    shutil.copyfile(source, folder / name)
    return name


def make_model_card(
    folder: Path,
    repo_id: str,
    cls: type,
    metrics: Mapping[str, float] | None = None,
    sample_file: str | None = None,
):
    """The ``README.md`` of a pushed save: metadata, usage, metrics, samples and the config files.

    Built only from the saved `folder`, so it shows exactly what was uploaded, and is the same
    text for the same save (an unchanged push re-uploads nothing).

    Args:
        folder: the folder ``save_pretrained`` wrote.
        repo_id: the repo the card is for, used in the usage snippet.
        cls: the class of the saved object, for the tags and the snippet's import.
        metrics: evaluation numbers to list, e.g. ``{"FID": 12.3}``.
        sample_file: the name of a sample image inside `folder`, shown in the card.

    Returns:
        huggingface_hub's ``ModelCard``.
    """
    from huggingface_hub import ModelCard, ModelCardData

    configs = sorted(p for p in folder.rglob("*.json") if p.name in SAVE_MARKERS)
    index = folder / _MODEL_INDEX
    index_data = json.loads(index.read_text(encoding="utf-8")) if index.is_file() else {}
    component_classes = [v[1] for k, v in index_data.items() if not k.startswith("_") and isinstance(v, list) and v[1]]
    for_diffusers = "_diffusers_version" in index_data  # saved in diffusers' layout: diffusers loads it too
    tags = ["gandiff", cls.__name__, *component_classes, *(["diffusers"] if for_diffusers else [])]
    data = ModelCardData(library_name="gandiff", tags=list(dict.fromkeys(tags)))

    # Our own classes are importable from the package; a plugin's from its module.
    module = "gandiff" if cls.__module__.startswith("gandiff.") else cls.__module__
    variable = "model" if (folder / _MODEL_CONFIG).is_file() else "scheduler"
    usage = [f"from {module} import {cls.__name__}", "", f'{variable} = {cls.__name__}.from_pretrained("{repo_id}")']
    if index.is_file():
        usage = [
            "import torch",
            "from gandiff import Pipeline",
            "",
            f'pipe = Pipeline.from_pretrained("{repo_id}")',
            "out = pipe(batch_size=16, generator=torch.Generator().manual_seed(0))",
        ]
    lines = [
        f"# {repo_id}",
        "",
        f"A `{cls.__name__}` saved with gandiff {__version__}: weights in safetensors, configs in JSON.",
        "",
        "## Usage",
        "",
        "```python",
        *usage,
        "```",
    ]
    if for_diffusers:
        lines += [
            "",
            "The files are in diffusers' layout, so diffusers loads them too:",
            "",
            "```python",
            "from diffusers import DiffusionPipeline",
            "",
            f'pipe = DiffusionPipeline.from_pretrained("{repo_id}")',
            "```",
        ]
    if metrics:
        lines += ["", "## Metrics", "", "| metric | value |", "|---|---|"]
        lines += [
            f"| {name} | {value:.4g} |" if isinstance(value, float) else f"| {name} | {value} |"
            for name, value in metrics.items()
        ]
    if sample_file:
        lines += ["", "## Samples", "", f"![samples]({sample_file})"]
    lines += ["", "## Configuration"]
    for path in configs:
        lines += [
            "",
            f"`{path.relative_to(folder).as_posix()}`",
            "",
            "```json",
            path.read_text(encoding="utf-8").strip(),
            "```",
        ]
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines) + "\n")
