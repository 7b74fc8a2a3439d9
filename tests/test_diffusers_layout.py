"""Train with gandiff, publish for diffusers: a pipeline whose classes all have a diffusers twin is
saved in diffusers' layout, and diffusers 0.42.1 (the reference; a test-only dependency) loads it
from a folder and from a Hub repo and gives the same images from the same seed. gandiff keeps
loading these folders, diffusers' own, and its own older saves.
"""

import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from toy_models import CIFAR_LIKE_UNET_CONFIG

diffusers = pytest.importorskip("diffusers")

from gandiff import (  # noqa: E402
    DCGANGenerator,
    DDIMScheduler,
    DDPMPipeline,
    DDPMScheduler,
    GANPipeline,
    MLPDenoiser,
    Pipeline,
    UNet2DModel,
    register,
)
from gandiff.registry import diffusers_twin, known_names, lookup  # noqa: E402
from gandiff.saving import DIFFUSERS_VERSION  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from hub_server import HubServer  # noqa: E402

UNET_CONFIG = CIFAR_LIKE_UNET_CONFIG
# The same weights, scheduler and seed agree to float32 rounding accumulated over the steps
# (measured: 9.5e-7 for DDPM at 25 steps, 3.6e-6 for DDIM at 20; diffusers keeps its tables in
# float32, gandiff in float64).
ATOL = 1e-5


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


def gandiff_trained_pipeline(scheduler) -> DDPMPipeline:
    """A toy DDPM U-Net after a few Adam steps on L_simple (Ho et al. 2020, eq. 14), all in gandiff."""
    torch.manual_seed(0)
    unet = UNet2DModel(**UNET_CONFIG)
    training_scheduler = DDPMScheduler()
    optimizer = torch.optim.Adam(unet.parameters(), lr=1e-3)
    for _ in range(3):
        x0 = torch.rand(4, 3, 8, 8) * 2 - 1
        noise = torch.randn_like(x0)
        t = torch.randint(0, training_scheduler.config.num_train_timesteps, (4,))
        loss = torch.nn.functional.mse_loss(unet(training_scheduler.add_noise(x0, noise, t), t), noise)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    pipe = DDPMPipeline(unet=unet.eval(), scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def images(pipe, steps, seed=0, **kwargs) -> np.ndarray:
    pipe.set_progress_bar_config(disable=True)
    return pipe(batch_size=2, generator=seeded(seed), num_inference_steps=steps, output_type="np", **kwargs).images


# Clipping x̂_0 turns an untrained network's output into a step function of x_t, so float32
# rounding flips pixels across the boundary and deterministic DDIM runs diverge (see
# test_diffusers_pipelines.py's ddim_folder): DDIM is compared without clipping, DDPM with it.
CASES = {
    "ddpm": (lambda: DDPMScheduler(variance_type="fixed_large"), "DDPMPipeline", 25, {}),
    "ddim": (lambda: DDIMScheduler(clip_sample=False), "DDIMPipeline", 20, {"eta": 0.0}),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def saved(request, tmp_path_factory):
    """(case, the gandiff pipeline, the folder it saved itself to with the default layout)."""
    make_scheduler, _, _, _ = CASES[request.param]
    pipe = gandiff_trained_pipeline(make_scheduler())
    folder = tmp_path_factory.mktemp("gandiff") / request.param
    pipe.save_pretrained(folder)
    return request.param, pipe, folder


def test_the_save_is_in_diffusers_layout(saved):
    case, pipe, folder = saved
    index = json.loads((folder / "model_index.json").read_text())
    scheduler_twin = diffusers_twin(type(pipe.scheduler))
    assert index == {
        "_class_name": CASES[case][1],
        "_diffusers_version": DIFFUSERS_VERSION,
        "_gandiff_version": index["_gandiff_version"],  # gandiff's version is still recorded
        "unet": ["diffusers", "UNet2DModel"],
        "scheduler": ["diffusers", scheduler_twin],
    }
    assert sorted(p.name for p in (folder / "unet").iterdir()) == [
        "config.json",
        "diffusion_pytorch_model.safetensors",
    ]
    for config_file in (folder / "unet" / "config.json", folder / "scheduler" / "scheduler_config.json"):
        config = json.loads(config_file.read_text())
        assert config["_diffusers_version"] == DIFFUSERS_VERSION and "_gandiff_version" in config
    assert json.loads((folder / "unet" / "config.json").read_text())["_class_name"] == "UNet2DModel"


def test_diffusers_loads_the_save_and_gives_the_same_images(saved):
    case, pipe, folder = saved
    _, pipeline_name, steps, kwargs = CASES[case]
    reference = getattr(diffusers, pipeline_name).from_pretrained(folder)
    auto = diffusers.DiffusionPipeline.from_pretrained(folder)  # the class named in model_index.json
    assert type(auto) is type(reference)
    assert type(reference.scheduler).__name__ == diffusers_twin(type(pipe.scheduler))
    for key, value in pipe.unet.state_dict().items():
        assert torch.equal(reference.unet.state_dict()[key], value), key
    np.testing.assert_allclose(images(reference, steps, **kwargs), images(pipe, steps, **kwargs), atol=ATOL, rtol=0)


def test_diffusers_loads_each_component_on_its_own(saved):
    _, pipe, folder = saved
    unet = diffusers.UNet2DModel.from_pretrained(folder, subfolder="unet")
    assert unet.state_dict().keys() == pipe.unet.state_dict().keys()
    scheduler_cls = getattr(diffusers, diffusers_twin(type(pipe.scheduler)))
    scheduler = scheduler_cls.from_pretrained(folder, subfolder="scheduler")
    assert {k: scheduler.config[k] for k in pipe.scheduler.config} == pipe.scheduler.config.to_dict()
    # A model saved alone is in diffusers' layout too.
    pipe.unet.save_pretrained(folder.parent / f"{folder.name}-unet")
    alone = diffusers.UNet2DModel.from_pretrained(folder.parent / f"{folder.name}-unet")
    assert all(torch.equal(alone.state_dict()[k], v) for k, v in pipe.unet.state_dict().items())


def test_gandiff_loads_it_back_and_diffusers_save_of_it_too(saved, tmp_path):
    """Both directions: gandiff -> gandiff, and gandiff -> diffusers -> save -> gandiff."""
    case, pipe, folder = saved
    _, pipeline_name, steps, kwargs = CASES[case]
    expected = images(pipe, steps, **kwargs)
    again = Pipeline.from_pretrained(folder)
    assert type(again) is DDPMPipeline and type(again.scheduler) is type(pipe.scheduler)
    np.testing.assert_array_equal(images(again, steps, **kwargs), expected)

    getattr(diffusers, pipeline_name).from_pretrained(folder).save_pretrained(tmp_path / "by-diffusers")
    from_diffusers = Pipeline.from_pretrained(tmp_path / "by-diffusers")
    assert type(from_diffusers.scheduler) is type(pipe.scheduler)
    np.testing.assert_allclose(images(from_diffusers, steps, **kwargs), expected, atol=ATOL, rtol=0)


# -- which saves get which layout -----------------------------------------------------------------


def test_twins_are_declared_by_the_class_itself():
    assert diffusers_twin(UNet2DModel) == "UNet2DModel"
    assert diffusers_twin(DDPMScheduler) == "DDPMScheduler" and diffusers_twin(DDIMScheduler) == "DDIMScheduler"
    assert diffusers_twin(DDPMPipeline) == "DDPMPipeline"
    assert diffusers_twin(DCGANGenerator) is None and diffusers_twin(MLPDenoiser) is None

    class Changed(DDIMScheduler):  # a subclass may compute something else: no inherited twin
        pass

    assert diffusers_twin(Changed) is None


@pytest.mark.parametrize("kind", ["model", "scheduler"])
def test_every_declared_twin_exists_in_diffusers_and_takes_the_config_keys(kind):
    """Every registered class (a plugin's too) that declares a twin: diffusers has the class, and it
    takes every config key, so diffusers reads the saved config without ignoring a setting."""
    twins = {name: diffusers_twin(lookup(kind, name)) for name in known_names(kind)}
    twins = {name: twin for name, twin in twins.items() if twin is not None}
    assert twins, f"no {kind} declares a diffusers twin"
    for name, twin in twins.items():
        assert hasattr(diffusers, twin), f"{name} declares the twin {twin}, which diffusers does not have"
        ours = set(inspect.signature(lookup(kind, name).__init__).parameters) - {"self"}
        theirs = set(inspect.signature(getattr(diffusers, twin).__init__).parameters) - {"self"}
        assert ours <= theirs, f"{name}'s config keys diffusers' {twin} does not take: {sorted(ours - theirs)}"


def read_index(folder: Path) -> dict:
    return json.loads((folder / "model_index.json").read_text())


def test_components_without_a_twin_keep_gandiffs_names(tmp_path):
    points = DDPMPipeline(denoiser=MLPDenoiser(data_dim=2), scheduler=DDPMScheduler(clip_sample=False))
    points.save_pretrained(tmp_path / "points")
    assert read_index(tmp_path / "points") == {
        "_class_name": "DDPMPipeline",
        "_gandiff_version": read_index(tmp_path / "points")["_gandiff_version"],
        "denoiser": ["gandiff", "MLPDenoiser"],
        "scheduler": ["gandiff", "DDPMScheduler"],
    }
    assert (tmp_path / "points" / "denoiser" / "model.safetensors").is_file()
    # The whole save is in one layout: the scheduler's config is gandiff's too.
    assert "_diffusers_version" not in json.loads((tmp_path / "points/scheduler/scheduler_config.json").read_text())
    with pytest.raises(ValueError, match="diffusers has no equivalent of MLPDenoiser"):
        points.save_pretrained(tmp_path / "forced", diffusers_layout=True)

    gan = GANPipeline(generator=DCGANGenerator(latent_dim=8, out_channels=1, resolution=28, base_channels=4))
    gan.save_pretrained(tmp_path / "gan")
    assert read_index(tmp_path / "gan")["generator"] == ["gandiff", "DCGANGenerator"]
    assert (tmp_path / "gan" / "generator" / "model.safetensors").is_file()


def test_a_plugin_subclass_of_a_twin_is_saved_in_gandiffs_layout(tmp_path):
    @register("scheduler", name="LayoutTestDDIM")
    class LayoutTestDDIM(DDIMScheduler):
        pass

    pipe = DDPMPipeline(unet=UNet2DModel(**UNET_CONFIG), scheduler=LayoutTestDDIM())
    pipe.save_pretrained(tmp_path / "pipe")
    index = read_index(tmp_path / "pipe")
    assert index["scheduler"] == ["gandiff", "LayoutTestDDIM"] and index["unet"] == ["gandiff", "UNet2DModel"]
    assert (tmp_path / "pipe" / "unet" / "model.safetensors").is_file()
    assert type(Pipeline.from_pretrained(tmp_path / "pipe").scheduler) is LayoutTestDDIM


def test_a_twin_spelt_unlike_its_class_loads_back(tmp_path):
    """A class may declare a twin of another name (as a later Euler scheduler might declare
    "EulerDiscreteScheduler"): its diffusers-layout file names the twin, and the class still loads it."""

    class RenamedUNet(UNet2DModel):
        diffusers_name = "UNet2DModel"

    torch.manual_seed(0)
    model = RenamedUNet(**UNET_CONFIG)
    model.save_pretrained(tmp_path / "unet")
    assert json.loads((tmp_path / "unet" / "config.json").read_text())["_class_name"] == "UNet2DModel"
    loaded = RenamedUNet.from_pretrained(tmp_path / "unet")
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="holds a UNet2DModel, not a MLPDenoiser"):
        MLPDenoiser.from_pretrained(tmp_path / "unet")


def test_gandiffs_layout_on_request(tmp_path):
    pipe = gandiff_trained_pipeline(DDPMScheduler())
    pipe.save_pretrained(tmp_path / "pipe", diffusers_layout=False)
    assert read_index(tmp_path / "pipe")["unet"] == ["gandiff", "UNet2DModel"]
    assert sorted(p.name for p in (tmp_path / "pipe" / "unet").iterdir()) == ["config.json", "model.safetensors"]
    np.testing.assert_array_equal(images(Pipeline.from_pretrained(tmp_path / "pipe"), 5), images(pipe, 5))


# -- older gandiff saves ----------------------------------------------------------------------


def write_old_layout(folder: Path, pipe: DDPMPipeline) -> None:
    """What gandiff wrote before saving in diffusers' layout (commit d4516ef): gandiff's class names,
    ``model.safetensors``, no ``_diffusers_version``; written by hand, as that code wrote it."""
    (folder / "unet").mkdir(parents=True)
    (folder / "scheduler").mkdir()
    meta = {"_gandiff_version": "0.1.0"}
    index = {"_class_name": "DDPMPipeline", **meta, "unet": ["gandiff", "UNet2DModel"]}
    index["scheduler"] = ["gandiff", type(pipe.scheduler).__name__]
    (folder / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    unet_config = {"_class_name": "UNet2DModel", **meta, **pipe.unet.config.to_dict()}
    (folder / "unet" / "config.json").write_text(json.dumps(unet_config, indent=2) + "\n")
    state = {k: v.contiguous().clone() for k, v in pipe.unet.state_dict().items()}
    save_file(state, str(folder / "unet" / "model.safetensors"), metadata={"format": "pt"})
    scheduler_config = {"_class_name": type(pipe.scheduler).__name__, **meta, **pipe.scheduler.config.to_dict()}
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps(scheduler_config, indent=2) + "\n")


def test_an_older_gandiff_save_loads_and_a_new_save_over_it_changes_only_the_weights_name(tmp_path):
    pipe = gandiff_trained_pipeline(DDPMScheduler(variance_type="fixed_large"))
    folder = tmp_path / "old"
    write_old_layout(folder, pipe)
    (folder / "notes.txt").write_text("mine")
    (folder / "unet" / "notes.txt").write_text("mine too")
    expected = images(pipe, 10)
    old = Pipeline.from_pretrained(folder)
    np.testing.assert_array_equal(images(old, 10), expected)

    old.save_pretrained(folder)  # diffusers' layout now: the stale weights file of the old name goes
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert files == {
        "model_index.json",
        "notes.txt",
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
        "unet/notes.txt",
        "scheduler/scheduler_config.json",
    }
    assert (folder / "unet" / "notes.txt").read_text() == "mine too"
    np.testing.assert_allclose(images(diffusers.DDPMPipeline.from_pretrained(folder), 10), expected, atol=ATOL, rtol=0)
    np.testing.assert_array_equal(images(Pipeline.from_pretrained(folder), 10), expected)

    old.save_pretrained(folder, diffusers_layout=False)  # and back: diffusers' weights name goes
    assert sorted(p.name for p in (folder / "unet").iterdir()) == ["config.json", "model.safetensors", "notes.txt"]
    np.testing.assert_array_equal(images(Pipeline.from_pretrained(folder), 10), expected)


# -- publish to the Hub, load with diffusers --------------------------------------------------------

# Run in a fresh interpreter: huggingface_hub reads HF_ENDPOINT when it is imported, and diffusers'
# loading goes through it, so the environment must be set before either is imported (a user's
# shell does the same).
_PUSH_THEN_LOAD = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch
    from gandiff import Pipeline

    source, repo_id, pipeline_name, steps, out = sys.argv[1:6]
    Pipeline.from_pretrained(source).push_to_hub(repo_id)

    import diffusers

    pipe = getattr(diffusers, pipeline_name).from_pretrained(repo_id)
    pipe.set_progress_bar_config(disable=True)
    kwargs = {"eta": 0.0} if pipeline_name == "DDIMPipeline" else {}
    result = pipe(batch_size=2, generator=torch.Generator().manual_seed(0), num_inference_steps=int(steps),
                  output_type="np", **kwargs)
    np.save(out, result.images)
    """
)


def test_push_to_hub_then_diffusers_loads_the_repo(saved, tmp_path):
    case, pipe, folder = saved
    _, pipeline_name, steps, kwargs = CASES[case]
    server = HubServer(lfs=True).start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE_"))}
        env.update(
            HF_ENDPOINT=server.endpoint,
            HF_HOME=str(tmp_path / "hf_home"),
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_DISABLE_XET="1",  # LFS uploads, which the test Hub speaks
            PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[1] / "src"), env.get("PYTHONPATH", "")]),
        )
        out = tmp_path / "images.npy"
        args = [str(folder), f"user/{case}", pipeline_name, str(steps), str(out)]
        result = subprocess.run(
            [sys.executable, "-c", _PUSH_THEN_LOAD, *args], env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr[-3000:]
        stored = server.repos[f"user/{case}"].resolve("main").files
        assert {"model_index.json", "unet/diffusion_pytorch_model.safetensors"} <= set(stored)
        card = stored["README.md"].content.decode()  # tells a diffusers user how to load it
        assert "- diffusers\n" in card.split("---")[1] and f'DiffusionPipeline.from_pretrained("user/{case}")' in card
        assert not server.unknown_requests, server.unknown_requests
    finally:
        server.stop()
    np.testing.assert_allclose(np.load(out), images(pipe, steps, **kwargs), atol=ATOL, rtol=0)
