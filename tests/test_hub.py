"""Hub round trips over real HTTP, against the in-memory Hub of `hub_server.py`.

huggingface_hub makes its real requests; the `hub` fixture points it at a local server (both
"regular" inline uploads and LFS uploads with Xet off) and fails the test if the client calls a
route the server does not know. One opt-in test talks to the real Hub.
"""

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import torch
from PIL import Image

from gandiff import (
    DCGANDiscriminator,
    DCGANGenerator,
    DDIMScheduler,
    DDPMPipeline,
    DDPMScheduler,
    GANPipeline,
    ModelMixin,
    Pipeline,
    UNet2DModel,
)
from gandiff.hub import (
    HubAccessError,
    HubChecksumError,
    HubConnectionError,
    HubError,
    HubNotFoundError,
    HubTimeoutError,
    is_repo_id,
)

sys.path.insert(0, str(Path(__file__).parent))
import hub_server  # noqa: E402
from hub_server import HubServer  # noqa: E402
from toy_models import TINY_UNET_CONFIG as UNET_CONFIG  # noqa: E402

# huggingface_hub's LFS upload passes a file as `data=`, which httpx2 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture(params=["regular", "lfs"])
def hub(request, tmp_path, monkeypatch):
    """A running test Hub, with huggingface_hub (and its cache and token) pointed at it."""
    from huggingface_hub import constants

    lfs = request.param == "lfs"
    server = HubServer(lfs=lfs).start()
    home = tmp_path / "hf_home"
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_OIDC_RESOURCE", "HF_HUB_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1" if lfs else "0")
    # huggingface_hub read those variables once, when it was imported: set what it uses now.
    patched = {
        "ENDPOINT": server.endpoint,
        "HUGGINGFACE_CO_URL_TEMPLATE": server.endpoint + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(home / "hub"),
        "HF_TOKEN_PATH": str(home / "token"),
        "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
        "HF_HUB_OFFLINE": False,
        "HF_HUB_DISABLE_TELEMETRY": True,
        # With hf_xet installed, "lfs" files would go to Xet storage; the LFS protocol is what
        # the LFS mode tests. In regular mode nothing is LFS, so Xet's upload path stays on.
        "HF_HUB_DISABLE_XET": lfs,
    }
    for name, value in patched.items():
        monkeypatch.setattr(constants, name, value)
    server.cache = home / "hub"
    yield server
    server.stop()
    if server.unknown_requests:
        pytest.fail(f"huggingface_hub called routes the test Hub does not know: {server.unknown_requests}")


def regular_only(test):
    """Run a test once, in regular upload mode (its subject does not depend on the mode)."""
    return pytest.mark.parametrize("hub", ["regular"], indirect=True)(test)


def tiny_ddpm_pipeline(seed: int = 0) -> DDPMPipeline:
    torch.manual_seed(seed)
    pipe = DDPMPipeline(unet=UNet2DModel(**UNET_CONFIG).eval(), scheduler=DDPMScheduler())
    pipe.set_progress_bar_config(disable=True)
    return pipe


def ddpm_samples(pipe) -> torch.Tensor:
    pipe.set_progress_bar_config(disable=True)
    return pipe(
        batch_size=2, generator=torch.Generator().manual_seed(0), num_inference_steps=3, output_type="pt"
    ).images


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def snapshot_files(server, repo_id: str) -> set[str]:
    """Every file of `repo_id` in the test cache, over all cached commits."""
    root = server.cache / f"models--{repo_id.replace('/', '--')}" / "snapshots"
    return {p.relative_to(commit).as_posix() for commit in root.iterdir() for p in commit.rglob("*") if p.is_file()}


def downloads(server) -> set[str]:
    """Repo paths the client fetched: each download starts with a HEAD (or GET) of /resolve/."""
    # /{namespace}/{name}/resolve/{revision}/{path}
    return {path.split("/resolve/", 1)[1].split("/", 1)[1] for _, path in server.requests if "/resolve/" in path}


# -- round trips ------------------------------------------------------------------------------


def test_ddpm_pipeline_push_and_pull(hub):
    pipe = tiny_ddpm_pipeline()
    grid = Image.new("RGB", (16, 8), (200, 30, 30))
    commit = pipe.push_to_hub("user/ddpm", token="hf_write_token", metrics={"FID": 12.3456}, sample_grid=grid)
    assert commit.oid == hub.head("user/ddpm")
    assert "Bearer hf_write_token" in hub.authorizations

    loaded = Pipeline.from_pretrained("user/ddpm")
    assert type(loaded) is DDPMPipeline
    assert_same_weights(loaded.unet, pipe.unet)
    assert loaded.scheduler.config == pipe.scheduler.config
    torch.testing.assert_close(ddpm_samples(loaded), ddpm_samples(pipe), rtol=0, atol=0)

    stored = hub.repos["user/ddpm"].resolve("main").files
    assert set(stored) == {
        ".gitattributes", "README.md", "samples.png", "model_index.json",
        "unet/config.json", "unet/diffusion_pytorch_model.safetensors", "scheduler/scheduler_config.json",
    }  # fmt: skip
    # Regular mode commits everything inline; LFS mode sends weights (and the image) by LFS.
    assert stored["unet/diffusion_pytorch_model.safetensors"].lfs == (hub.lfs is True)
    assert any(f.startswith("lfs:") for f in hub.received_files) == hub.lfs
    # The pull fetched the pipeline's files only: no README, image or .gitattributes.
    assert downloads(hub) == {
        "model_index.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
        "scheduler/scheduler_config.json",
    }


def test_model_card(hub):
    tiny_ddpm_pipeline().push_to_hub("user/card", metrics={"FID": 12.3456}, sample_grid=Image.new("L", (8, 8)))
    card = hub.repos["user/card"].resolve("main").files["README.md"].content.decode()
    header = card.split("---")[1]
    assert "library_name: gandiff" in header
    for tag in ("gandiff", "DDPMPipeline", "UNet2DModel", "DDPMScheduler"):
        assert f"- {tag}\n" in header
    assert 'Pipeline.from_pretrained("user/card")' in card
    assert "| FID | 12.35 |" in card
    assert "![samples](samples.png)" in card
    assert '"_class_name": "DDPMPipeline"' in card and '"block_out_channels"' in card  # the configs


def test_gan_pipeline_push_and_pull(hub):
    torch.manual_seed(0)
    generator = DCGANGenerator(latent_dim=16, out_channels=1, resolution=32, base_channels=8).eval()
    discriminator = DCGANDiscriminator(in_channels=1, resolution=32, base_channels=8).eval()
    pipe = GANPipeline(generator=generator, discriminator=discriminator)
    pipe.push_to_hub("user/gan")

    loaded = GANPipeline.from_pretrained("user/gan")
    assert_same_weights(loaded.generator, generator)
    assert_same_weights(loaded.discriminator, discriminator)
    expected = pipe(batch_size=3, generator=torch.Generator().manual_seed(1), output_type="pt").images
    actual = loaded(batch_size=3, generator=torch.Generator().manual_seed(1), output_type="pt").images
    torch.testing.assert_close(actual, expected, rtol=0, atol=0)


def test_single_model_and_scheduler(hub, tmp_path):
    pipe = tiny_ddpm_pipeline()
    pipe.push_to_hub("user/ddpm")
    # A component of a pipeline repo: only its folder is downloaded.
    unet = UNet2DModel.from_pretrained("user/ddpm", subfolder="unet")
    assert_same_weights(unet, pipe.unet)
    assert downloads(hub) == {"unet/config.json", "unet/diffusion_pytorch_model.safetensors"}
    scheduler = DDIMScheduler.from_pretrained("user/ddpm", subfolder="scheduler")  # swapped on load
    assert scheduler.config.num_train_timesteps == pipe.scheduler.config.num_train_timesteps

    # A model and a scheduler pushed on their own, to the repo root.
    pipe.unet.push_to_hub("user/unet")
    assert_same_weights(UNet2DModel.from_pretrained("user/unet", cache_dir=tmp_path / "cache"), pipe.unet)
    assert list((tmp_path / "cache").rglob("diffusion_pytorch_model.safetensors"))
    assert type(ModelMixin.from_pretrained("user/unet")) is UNet2DModel
    DDPMScheduler(beta_schedule="squaredcos_cap_v2").push_to_hub("user/scheduler")
    assert DDPMScheduler.from_pretrained("user/scheduler").config.beta_schedule == "squaredcos_cap_v2"


def test_second_push_of_unchanged_files_uploads_nothing(hub):
    pipe = tiny_ddpm_pipeline()
    first = pipe.push_to_hub("user/ddpm", metrics={"FID": 1.0})
    received, commits = list(hub.received_files), len(hub.repos["user/ddpm"].commits)

    second = pipe.push_to_hub("user/ddpm", metrics={"FID": 1.0})
    assert hub.received_files == received  # no file content reached the server
    assert len(hub.repos["user/ddpm"].commits) == commits  # and no empty commit was made
    assert second.oid == first.oid

    pipe.scheduler = DDPMScheduler(num_train_timesteps=500)  # one changed file is one upload
    pipe.push_to_hub("user/ddpm", metrics={"FID": 1.0})
    assert sorted(hub.received_files[len(received) :]) == ["README.md", "scheduler/scheduler_config.json"]


@regular_only
def test_pinned_older_revision_and_branch(hub):
    old = tiny_ddpm_pipeline(seed=0)
    new = tiny_ddpm_pipeline(seed=1)
    first = old.push_to_hub("user/ddpm")
    new.push_to_hub("user/ddpm")
    assert_same_weights(Pipeline.from_pretrained("user/ddpm").unet, new.unet)
    assert_same_weights(Pipeline.from_pretrained("user/ddpm", revision=first.oid).unet, old.unet)
    assert_same_weights(UNet2DModel.from_pretrained("user/ddpm", subfolder="unet", revision=first.oid), old.unet)

    old.scheduler.push_to_hub("user/ddpm-branch")
    DDIMScheduler().push_to_hub("user/ddpm-branch", revision="dev", commit_message="try DDIM")
    assert hub.repos["user/ddpm-branch"].resolve("dev").message == "try DDIM"
    assert DDPMScheduler.load_config("user/ddpm-branch", revision="dev")["_class_name"] == "DDIMScheduler"
    assert DDPMScheduler.load_config("user/ddpm-branch")["_class_name"] == "DDPMScheduler"


@regular_only
def test_offline_load_from_cache(hub, monkeypatch):
    pipe = tiny_ddpm_pipeline()
    pipe.push_to_hub("user/ddpm")
    Pipeline.from_pretrained("user/ddpm")  # fills the cache

    before = len(hub.requests)
    loaded = Pipeline.from_pretrained("user/ddpm", local_files_only=True)
    assert len(hub.requests) == before  # not one request
    assert_same_weights(loaded.unet, pipe.unet)

    hub.stop()
    assert_same_weights(Pipeline.from_pretrained("user/ddpm").unet, pipe.unet)  # Hub down: the cache serves
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert_same_weights(Pipeline.from_pretrained("user/ddpm").unet, pipe.unet)
    # Offline, what was never downloaded is reported as such.
    with pytest.raises(FileNotFoundError, match="not in the local cache.*HF_HUB_OFFLINE"):
        Pipeline.from_pretrained("user/ddpm", revision="other")


@regular_only
def test_diffusers_repo_loads(hub, tmp_path):
    import diffusers
    from huggingface_hub import HfApi

    torch.manual_seed(0)
    reference = diffusers.DDPMPipeline(unet=diffusers.UNet2DModel(**UNET_CONFIG), scheduler=diffusers.DDPMScheduler())
    reference.set_progress_bar_config(disable=True)
    reference.save_pretrained(tmp_path / "ddpm")  # what diffusers publishes: diffusers' file names
    HfApi().create_repo("google/tiny-ddpm")
    HfApi().upload_folder(repo_id="google/tiny-ddpm", folder_path=tmp_path / "ddpm")

    ours = Pipeline.from_pretrained("google/tiny-ddpm")
    assert type(ours) is DDPMPipeline
    assert_same_weights(ours.unet, reference.unet)
    expected = reference(
        batch_size=2, generator=torch.Generator().manual_seed(0), num_inference_steps=3, output_type="np"
    ).images
    actual = ours(
        batch_size=2, generator=torch.Generator().manual_seed(0), num_inference_steps=3, output_type="np"
    ).images
    torch.testing.assert_close(torch.from_numpy(actual), torch.from_numpy(expected), rtol=1e-4, atol=1e-5)


@regular_only
def test_pickled_weights_need_allow_pickle(hub, tmp_path):
    from huggingface_hub import HfApi

    torch.manual_seed(0)
    unet = UNet2DModel(**UNET_CONFIG)
    unet.save_pretrained(tmp_path / "both")
    torch.save(unet.state_dict(), tmp_path / "both" / "diffusion_pytorch_model.bin")
    api = HfApi()
    api.create_repo("user/both")
    api.upload_folder(repo_id="user/both", folder_path=tmp_path / "both")
    api.create_repo("user/pickle-only")
    api.upload_folder(repo_id="user/pickle-only", folder_path=tmp_path / "both", ignore_patterns=["*.safetensors"])

    # safetensors is preferred: the pickle is not downloaded even when allowed.
    UNet2DModel.from_pretrained("user/both", allow_pickle=True)
    assert not any(name.endswith(".bin") for name in downloads(hub))

    with pytest.raises(ValueError, match="only pickled weights.*nothing was downloaded.*allow_pickle=True"):
        UNet2DModel.from_pretrained("user/pickle-only")
    assert not any(name.endswith(".bin") for name in downloads(hub))
    assert_same_weights(UNet2DModel.from_pretrained("user/pickle-only", allow_pickle=True), unet)
    assert "diffusion_pytorch_model.bin" in downloads(hub)


# -- errors -----------------------------------------------------------------------------------


@regular_only
def test_errors_name_what_is_missing(hub):
    tiny_ddpm_pipeline().push_to_hub("user/ddpm")
    with pytest.raises(FileNotFoundError, match="has no repo 'user/nope'.*check the name.*log in"):
        Pipeline.from_pretrained("user/nope")
    with pytest.raises(FileNotFoundError, match="has no revision 'v9'.*branch, tag or commit"):
        Pipeline.from_pretrained("user/ddpm", revision="v9")
    with pytest.raises(FileNotFoundError, match="no .*in 'vae/'; it holds: .*unet/config.json"):
        UNet2DModel.from_pretrained("user/ddpm", subfolder="vae")
    with pytest.raises(FileNotFoundError, match="has no scheduler_config.json; it holds: .*model_index.json"):
        DDPMScheduler.from_pretrained("user/ddpm")
    with pytest.raises(ValueError, match="revision='main' selects a version of a Hub repo"):
        Pipeline.from_pretrained("./user/ddpm", revision="main")


@regular_only
def test_downloaded_model_index_names_only_registered_classes(hub, tmp_path):
    from huggingface_hub import HfApi

    folder = tmp_path / "evil"
    tiny_ddpm_pipeline().save_pretrained(folder)
    index = json.loads((folder / "model_index.json").read_text())
    index["unet"] = ["os", "system"]  # a module path and a callable: must never be imported or called
    (folder / "model_index.json").write_text(json.dumps(index))
    HfApi().create_repo("user/evil")
    HfApi().upload_folder(repo_id="user/evil", folder_path=folder)
    with pytest.raises(ValueError, match="entry 'unet'"):
        Pipeline.from_pretrained("user/evil")


@regular_only
def test_private_repo_needs_a_token(hub):
    DDPMScheduler().push_to_hub("user/private", private=True, token="hf_write_token")
    assert hub.repos["user/private"].private
    with pytest.raises(FileNotFoundError, match="if the repo is private, log in"):
        DDPMScheduler.from_pretrained("user/private")
    assert DDPMScheduler.from_pretrained("user/private", token="hf_read_token").config.num_train_timesteps == 1000


def test_server_down_mid_download(hub, monkeypatch):
    tiny_ddpm_pipeline().push_to_hub("user/ddpm")
    hub.interrupt_downloads = {"unet/diffusion_pytorch_model.safetensors"}
    # huggingface_hub waits between its retries; the server stays down, so waiting is moot.
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    with pytest.raises(
        ConnectionError, match="downloading 'user/ddpm' .*failed.*retry; incomplete downloads are discarded"
    ):
        Pipeline.from_pretrained("user/ddpm")
    assert not hub.running
    assert "unet/diffusion_pytorch_model.safetensors" not in snapshot_files(hub, "user/ddpm")
    assert not [p for p in hub.cache.rglob("*") if p.name.endswith(".incomplete")]


@regular_only
def test_offline_with_empty_cache(hub, monkeypatch):
    DDPMScheduler().push_to_hub("user/scheduler")
    before = len(hub.requests)
    with pytest.raises(FileNotFoundError, match="not in the local cache .*local_files_only=True.*Go online once"):
        DDPMScheduler.from_pretrained("user/scheduler", local_files_only=True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="not in the local cache .*HF_HUB_OFFLINE is set"):
        Pipeline.from_pretrained("user/ddpm")
    assert len(hub.requests) == before


def test_test_hub_reports_unknown_routes():
    from urllib.error import HTTPError
    from urllib.request import urlopen

    server = HubServer().start()
    try:
        with pytest.raises(HTTPError) as err:
            urlopen(f"{server.endpoint}/api/models/user/repo/refs")
        assert err.value.code == 400
        assert server.unknown_requests == ["GET /api/models/user/repo/refs"]
    finally:
        server.stop()


def test_test_hub_faults_and_lifetime():
    from urllib.error import HTTPError
    from urllib.request import Request, urlopen

    server = HubServer(lifetime=3).start()
    try:
        server.repos["user/repo"] = repo = hub_server.Repo("user/repo", private=False)
        server.add_commit(repo, "main", "add", {"a.bin": hub_server.StoredFile(bytes(range(200)), lfs=False)})
        url = f"{server.endpoint}/user/repo/resolve/main/a.bin"
        server.inject("corrupt", "a.bin", times=1)
        corrupt = urlopen(url).read()
        assert len(corrupt) == 200 and corrupt != bytes(range(200))  # same length, other content
        assert urlopen(url).read() == bytes(range(200))  # times=1: then the file again
        server.inject("status", "/api/", status=403, code="GatedRepo")
        with pytest.raises(HTTPError) as err:
            urlopen(f"{server.endpoint}/api/models/user/repo")
        assert err.value.code == 403 and err.value.headers["X-Error-Code"] == "GatedRepo"
        server.inject("drop", "a.bin", method="HEAD")
        with pytest.raises(OSError):  # the connection closes without an answer
            urlopen(Request(url, method="HEAD"), timeout=2)
        server.inject("stall", "a.bin", seconds=60)
        start = time.monotonic()
        with pytest.raises(OSError):  # still stalled when the server stops itself
            urlopen(url, timeout=10)
        assert time.monotonic() - start < 5 and not server.running
    finally:
        server.stop()


def test_repo_ids_and_local_paths(tmp_path):
    assert is_repo_id("google/ddpm-cifar10-32")
    for local in ("./out", "/data/run", "out", "~/x/y", tmp_path / "a"):
        assert not is_repo_id(local)
    folder = tmp_path / "user" / "name"
    folder.mkdir(parents=True)
    assert not is_repo_id(str(folder))  # an existing folder wins


def test_import_gandiff_does_not_import_huggingface_hub():
    code = "import sys, gandiff; print('huggingface_hub' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )


# -- checked downloads ------------------------------------------------------------------------


def cached_blobs(server, repo_id: str) -> dict[str, bytes]:
    """The content huggingface_hub's cache holds for `repo_id`, by blob name (the ETag the Hub sent)."""
    blobs = server.cache / f"models--{repo_id.replace('/', '--')}" / "blobs"
    return {p.name: p.read_bytes() for p in blobs.iterdir()} if blobs.is_dir() else {}


def test_corrupt_download_is_deleted_and_reported(hub):
    pipe = tiny_ddpm_pipeline()
    pipe.push_to_hub("user/ddpm")
    weights = hub.repos["user/ddpm"].resolve("main").files["unet/diffusion_pytorch_model.safetensors"]
    corrupt = hub.inject(
        "corrupt", "unet/diffusion_pytorch_model.safetensors", times=1
    )  # same length: the size check passes
    with pytest.raises(HubChecksumError) as err:
        Pipeline.from_pretrained("user/ddpm")
    assert corrupt.hits == 1
    assert isinstance(err.value, OSError) and "\n" not in str(err.value)
    # Regular files are checked against the git blob sha1 (ETag), LFS files against the sha256 (X-Linked-Etag).
    stated = weights.sha256 if hub.lfs else weights.git_oid
    for part in (
        "'unet/diffusion_pytorch_model.safetensors'",
        "'user/ddpm'",
        "corrupt",
        stated,
        "deleted",
        "force_download=True",
    ):
        assert part in str(err.value)
    assert "unet/diffusion_pytorch_model.safetensors" not in snapshot_files(hub, "user/ddpm")
    assert stated not in cached_blobs(hub, "user/ddpm")  # nothing corrupt stays in the cache

    # The next load downloads the file again, and it is the one pushed.
    assert_same_weights(Pipeline.from_pretrained("user/ddpm").unet, pipe.unet)
    assert cached_blobs(hub, "user/ddpm")[stated] == weights.content


@regular_only
def test_corrupted_cache_is_found_before_use(hub):
    pipe = tiny_ddpm_pipeline()
    pipe.push_to_hub("user/ddpm")
    Pipeline.from_pretrained("user/ddpm")
    weights = hub.repos["user/ddpm"].resolve("main").files["unet/diffusion_pytorch_model.safetensors"]
    blob = hub.cache / "models--user--ddpm" / "blobs" / weights.git_oid
    content = bytearray(blob.read_bytes())
    content[len(content) // 2] ^= 0xFF  # bit rot, or a corrupt download cached by an older version
    blob.write_bytes(bytes(content))

    with pytest.raises(HubChecksumError, match="'unet/diffusion_pytorch_model.safetensors'.*corrupt.*deleted"):
        Pipeline.from_pretrained("user/ddpm", local_files_only=True)  # checked without a request
    assert not blob.exists()
    assert_same_weights(Pipeline.from_pretrained("user/ddpm").unet, pipe.unet)  # downloaded again


@regular_only
def test_force_download(hub):
    from huggingface_hub import HfApi

    pipe = tiny_ddpm_pipeline()
    pipe.push_to_hub("user/ddpm")
    Pipeline.from_pretrained("user/ddpm")

    def transfers() -> list[str]:
        return [path.split("/", 5)[-1] for method, path in hub.requests if method == "GET" and "/resolve/" in path]

    before = len(transfers())
    Pipeline.from_pretrained("user/ddpm")
    assert len(transfers()) == before  # cached: nothing is downloaded again
    Pipeline.from_pretrained("user/ddpm", force_download=True)
    assert sorted(transfers()[before:]) == sorted(
        [
            "model_index.json",
            "unet/config.json",
            "unet/diffusion_pytorch_model.safetensors",
            "scheduler/scheduler_config.json",
        ]
    )  # each file once
    before = len(transfers())
    UNet2DModel.from_pretrained("user/ddpm", subfolder="unet", force_download=True)
    DDPMScheduler.from_pretrained("user/ddpm", subfolder="scheduler", force_download=True)
    assert DDPMScheduler.load_config("user/ddpm", subfolder="scheduler", force_download=True)
    assert sorted(transfers()[before:]) == [
        "scheduler/scheduler_config.json",  # from_pretrained
        "scheduler/scheduler_config.json",  # load_config
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
    ]
    with pytest.raises(ValueError, match="force_download=True downloads the files again, but downloads are off"):
        Pipeline.from_pretrained("user/ddpm", force_download=True, local_files_only=True)

    # force_download replaces a corrupt cached file without an error first.
    HfApi().create_repo("user/unet")
    pipe.unet.push_to_hub("user/unet")
    UNet2DModel.from_pretrained("user/unet")
    weights = hub.repos["user/unet"].resolve("main").files["diffusion_pytorch_model.safetensors"]
    blob = hub.cache / "models--user--unet" / "blobs" / weights.git_oid
    blob.write_bytes(bytes(len(weights.content)))
    assert_same_weights(UNet2DModel.from_pretrained("user/unet", force_download=True), pipe.unet)


@regular_only
def test_cached_pickle_is_not_read_without_allow_pickle(hub, tmp_path, monkeypatch):
    from huggingface_hub import HfApi

    torch.manual_seed(0)
    unet = UNet2DModel(**UNET_CONFIG)
    (tmp_path / "pickle").mkdir()
    unet.save_config(tmp_path / "pickle")
    torch.save(unet.state_dict(), tmp_path / "pickle" / "diffusion_pytorch_model.bin")
    HfApi().create_repo("user/pickle-only")
    HfApi().upload_folder(repo_id="user/pickle-only", folder_path=tmp_path / "pickle")
    assert_same_weights(UNet2DModel.from_pretrained("user/pickle-only", allow_pickle=True), unet)

    def no_unpickling(*args, **kwargs):
        raise AssertionError("torch.load was called")

    monkeypatch.setattr(torch, "load", no_unpickling)
    # The pickle is in the cache now; it is still read only when asked for, online or not.
    for local_files_only in (False, True):
        with pytest.raises(ValueError, match="pickled weights.*allow_pickle=True"):
            UNet2DModel.from_pretrained("user/pickle-only", local_files_only=local_files_only)


# -- faults: timeouts and errors -------------------------------------------------------------


@pytest.fixture
def short_timeouts(monkeypatch):
    """1 s timeouts, set as a user sets them, and where huggingface_hub keeps them (it reads them at import)."""
    from huggingface_hub import constants

    for name in ("HF_HUB_ETAG_TIMEOUT", "HF_HUB_DOWNLOAD_TIMEOUT"):
        monkeypatch.setenv(name, "1")
        monkeypatch.setattr(constants, name, 1)
    # huggingface_hub waits a second between the retries of a transfer; the fault stays, so waiting is moot.
    monkeypatch.setattr(time, "sleep", lambda seconds: None)


STALLS = {
    "repo info": ("/api/models/", "GET", "HF_HUB_ETAG_TIMEOUT"),
    "file metadata": ("unet/diffusion_pytorch_model.safetensors", "HEAD", "HF_HUB_ETAG_TIMEOUT"),
    "file transfer": ("unet/diffusion_pytorch_model.safetensors", "GET", "HF_HUB_DOWNLOAD_TIMEOUT"),
}


@pytest.mark.parametrize("stalled", STALLS)
def test_a_stalled_hub_times_out_naming_the_request(hub, short_timeouts, stalled):
    tiny_ddpm_pipeline().push_to_hub("user/ddpm")
    match, method, variable = STALLS[stalled]
    stall = hub.inject("stall", match, method=method, seconds=8)  # the server's wait ends when the test does
    start = time.monotonic()
    with pytest.raises(HubTimeoutError) as err:
        Pipeline.from_pretrained("user/ddpm")
    # Before: the repo info waited as long as the server did (no timeout at all), a stalled HEAD
    # was retried with a fixed 60 s timeout, a stalled transfer ended in a ConnectionError that
    # named no request.
    assert time.monotonic() - start < 8
    assert stall.hits >= 1
    message = str(err.value)
    assert isinstance(err.value, TimeoutError) and "\n" not in message
    assert (
        f"{method} {hub.endpoint if match.startswith('/') or not hub.lfs or method == 'HEAD' else hub.cdn}" in message
    )
    assert (match.strip("/") if match.startswith("/") else match) in message
    assert f"{variable}=60" in message and "'user/ddpm'" in message


@regular_only
def test_a_stalled_hub_serves_the_cached_copy(hub, short_timeouts, caplog):
    pipe = tiny_ddpm_pipeline()
    pipe.push_to_hub("user/ddpm")
    Pipeline.from_pretrained("user/ddpm")
    hub.inject("stall", "/api/models/", seconds=8)
    start = time.monotonic()
    assert_same_weights(Pipeline.from_pretrained("user/ddpm").unet, pipe.unet)
    assert time.monotonic() - start < 8  # before: it waited for the server
    assert "loading the cached copy" in caplog.text


HTTP_ERRORS = {
    "gated": (
        dict(match="unet/diffusion_pytorch_model.safetensors", status=403, code="GatedRepo"),
        HubAccessError,
        ["'user/ddpm' is gated", "accept its conditions", "hf auth login", "HF_TOKEN"],
    ),
    "invalid token": (
        dict(match="/", status=401, message="Invalid credentials in Authorization header"),
        HubAccessError,
        ["refused access", "'user/ddpm'", "HTTP 401", "hf auth login", "HF_TOKEN"],
    ),
    "forbidden": (
        dict(match="unet/diffusion_pytorch_model.safetensors", status=403),
        HubAccessError,
        ["refused access", "'unet/diffusion_pytorch_model.safetensors'", "HTTP 403", "HF_TOKEN"],
    ),
    "not a Hub": (
        dict(match="/api/models/", status=404),
        HubNotFoundError,
        ["HTTP 404", "/api/models/user/ddpm", "HF_ENDPOINT"],
    ),
    "server error": (
        dict(match="unet/diffusion_pytorch_model.safetensors", status=500),
        HubConnectionError,
        ["HTTP 500", "'unet/diffusion_pytorch_model.safetensors'", "Retry later"],
    ),
    "dropped connection": (
        dict(match="unet/diffusion_pytorch_model.safetensors", kind="drop"),
        HubConnectionError,
        ["'user/ddpm' (unet/diffusion_pytorch_model.safetensors)", "RemoteProtocolError", "retry", "HF_HUB_OFFLINE=1"],
    ),
}


@regular_only
@pytest.mark.parametrize("error", HTTP_ERRORS)
def test_hub_errors_are_one_line_naming_the_fix(hub, short_timeouts, error):
    tiny_ddpm_pipeline().push_to_hub("user/ddpm")
    options, expected, parts = HTTP_ERRORS[error]
    hub.inject(options.pop("kind", "status"), **options)
    with pytest.raises(HubError) as err:
        Pipeline.from_pretrained("user/ddpm")
    assert type(err.value) is expected
    message = str(err.value)
    assert "\n" not in message
    for part in parts:
        assert part in message


@regular_only
def test_an_unreachable_hub(hub):
    tiny_ddpm_pipeline().push_to_hub("user/ddpm")
    hub.stop()
    with pytest.raises(HubConnectionError) as err:
        Pipeline.from_pretrained("user/ddpm")
    message = str(err.value)
    assert "\n" not in message and isinstance(err.value, ConnectionError)
    for part in ("'user/ddpm'", hub.endpoint, "ConnectError", "HF_ENDPOINT", "HF_HUB_OFFLINE=1"):
        assert part in message


# -- the real Hub (opt-in) ----------------------------------------------------------------------


def _real_hub_reachable() -> bool:
    try:
        socket.create_connection(("huggingface.co", 443), timeout=3).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not os.environ.get("HF_TOKEN"), reason="needs HF_TOKEN with write access to the real Hub")
def test_real_hub_round_trip():
    if os.environ.get("HF_ENDPOINT") or not _real_hub_reachable():
        pytest.skip("the real Hub is not reachable from here")
    from huggingface_hub import HfApi

    api = HfApi()
    repo_id = f"{api.whoami()['name']}/gandiff-test-{uuid.uuid4().hex[:8]}"
    scheduler = DDPMScheduler(beta_schedule="squaredcos_cap_v2")
    try:
        scheduler.push_to_hub(repo_id, private=True)
        assert DDPMScheduler.from_pretrained(repo_id).config == scheduler.config
    finally:
        api.delete_repo(repo_id, missing_ok=True)
