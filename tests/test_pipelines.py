"""DDPMPipeline and GANPipeline: sampling, output types, save/load, scheduler swaps, bad input."""

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image
from toy_models import TINY_UNET_CONFIG

import gandiff
from gandiff import (
    DCGANGenerator,
    DDIMScheduler,
    DDPMPipeline,
    DDPMScheduler,
    GANPipeline,
    MLPDenoiser,
    MLPGenerator,
    Pipeline,
    UNet2DModel,
)
from gandiff.registry import known_names, register


def tiny_unet(**overrides) -> UNet2DModel:
    torch.manual_seed(0)
    # One attention head over all channels, as in diffusers' DDPM checkpoints.
    return UNet2DModel(**{**TINY_UNET_CONFIG, "attention_head_dim": None, **overrides}).eval()


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def pipe():
    p = DDPMPipeline(unet=tiny_unet(), scheduler=DDPMScheduler())
    p.set_progress_bar_config(disable=True)
    return p


# -- output types -------------------------------------------------------------------------------


def test_output_types_and_ranges(pipe):
    pil = pipe(batch_size=2, generator=seeded(), num_inference_steps=5).images
    assert len(pil) == 2 and isinstance(pil[0], Image.Image) and pil[0].size == (8, 8) and pil[0].mode == "RGB"
    array = pipe(batch_size=2, generator=seeded(), num_inference_steps=5, output_type="np").images
    assert array.shape == (2, 8, 8, 3) and array.dtype == np.float32
    assert array.min() >= 0 and array.max() <= 1
    tensor = pipe(batch_size=2, generator=seeded(), num_inference_steps=5, output_type="pt").images
    assert tensor.shape == (2, 3, 8, 8)
    # The three forms hold the same samples: "pt" is "np" transposed, PIL is "np" in 8-bit.
    np.testing.assert_allclose(tensor.permute(0, 2, 3, 1).numpy(), array)
    np.testing.assert_array_equal(np.asarray(pil[1]), (array[1] * 255).round().astype(np.uint8))
    with pytest.raises(ValueError, match="output_type='png' is not valid for images"):
        pipe(batch_size=1, num_inference_steps=2, output_type="png")


def test_one_channel_images_are_grayscale_pil():
    pipe = DDPMPipeline(unet=tiny_unet(in_channels=1, out_channels=1), scheduler=DDPMScheduler())
    pipe.set_progress_bar_config(disable=True)
    image = pipe(batch_size=1, generator=seeded(), num_inference_steps=3).images[0]
    assert image.mode == "L" and image.size == (8, 8)


def test_per_sample_generators_give_per_sample_seeds(pipe):
    """Sample i drawn with generator i equals a batch of one drawn with the same seed."""
    batch = pipe(batch_size=2, generator=[seeded(1), seeded(2)], num_inference_steps=4, output_type="pt").images
    alone = pipe(batch_size=1, generator=seeded(2), num_inference_steps=4, output_type="pt").images
    torch.testing.assert_close(batch[1:], alone, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="got 1 generators for a batch of 2"):
        pipe(batch_size=2, generator=[seeded(1)], num_inference_steps=2)


def test_class_conditional_sampling():
    pipe = DDPMPipeline(unet=tiny_unet(num_class_embeds=3), scheduler=DDPMScheduler())
    pipe.set_progress_bar_config(disable=True)
    a = pipe(batch_size=2, generator=seeded(), num_inference_steps=3, class_labels=0, output_type="pt").images
    b = pipe(batch_size=2, generator=seeded(), num_inference_steps=3, class_labels=[2, 2], output_type="pt").images
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match="class_labels must be one int or 2 labels"):
        pipe(batch_size=2, num_inference_steps=2, class_labels=[0, 1, 2])


def test_progress_bar_can_be_disabled(pipe, capsys):
    pipe(batch_size=1, num_inference_steps=3)
    assert capsys.readouterr().err == ""
    pipe.set_progress_bar_config(disable=False)
    pipe(batch_size=1, num_inference_steps=3)
    assert "3/3" in capsys.readouterr().err


def test_to_dtype_moves_every_model(pipe):
    pipe.to(dtype=torch.float64)
    assert pipe.dtype == torch.float64 and pipe.unet.conv_in.weight.dtype == torch.float64
    out = pipe(batch_size=1, generator=seeded(), num_inference_steps=2, output_type="pt").images
    assert torch.isfinite(out).all()


# -- the scheduler protocol ---------------------------------------------------------------------


@register("scheduler", name="_SigmaScaledTestScheduler")
class SigmaScaledScheduler(DDIMScheduler):
    """A DDIM run in a k-diffusion-like parameterization: x starts with std 10 and the network
    is given x / 10. A pipeline that ignores init_noise_sigma or scale_model_input gets it wrong."""

    init_noise_sigma = 10.0

    def scale_model_input(self, sample, timestep):
        return sample / 10.0

    def step(self, model_output, timestep, sample, generator=None, eta=0.0):
        out = super().step(model_output, timestep, sample / 10.0, generator=generator, eta=eta)
        out.prev_sample = out.prev_sample * 10.0
        return out


def test_pipeline_honours_init_noise_sigma_and_scale_model_input():
    seen = []

    class Recorder(MLPDenoiser):
        def forward(self, sample, timestep, class_labels=None):
            seen.append(sample.clone())
            return super().forward(sample, timestep, class_labels)

    torch.manual_seed(0)
    network = Recorder(data_dim=2)
    reference = DDPMPipeline(denoiser=network, scheduler=DDIMScheduler(clip_sample=False))
    scaled = DDPMPipeline(denoiser=network, scheduler=SigmaScaledScheduler(clip_sample=False))
    for p in (reference, scaled):
        p.set_progress_bar_config(disable=True)
    expected = reference(batch_size=512, generator=seeded(), num_inference_steps=5, output_type="pt").points
    inputs_reference = seen[:]
    seen.clear()
    got = scaled(batch_size=512, generator=seeded(), num_inference_steps=5, output_type="pt").points
    # The network saw the same inputs and the samples are the DDIM samples scaled by 10.
    torch.testing.assert_close(seen[0], inputs_reference[0])
    torch.testing.assert_close(got, expected * 10.0, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", [n for n in known_names("scheduler") if not n.startswith("_")])
def test_every_registered_scheduler_samples_in_the_pipeline(pipe, name):
    """Each registered scheduler, made from a DDPM config, runs in DDPMPipeline with a generator."""
    pipe.scheduler = gandiff.registry.lookup("scheduler", name).from_config(pipe.scheduler.config)
    out = pipe(batch_size=2, generator=seeded(), num_inference_steps=4, output_type="pt").images
    assert out.shape == (2, 3, 8, 8) and torch.isfinite(out).all()


def test_eta_only_for_schedulers_that_take_it(pipe):
    with pytest.raises(ValueError, match="DDPMScheduler.step takes no eta"):
        pipe(batch_size=1, num_inference_steps=2, eta=1.0)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    deterministic = pipe(batch_size=1, generator=seeded(), num_inference_steps=3, eta=0.0, output_type="pt").images
    stochastic = pipe(batch_size=1, generator=seeded(), num_inference_steps=3, eta=1.0, output_type="pt").images
    assert not torch.allclose(deterministic, stochastic)


# -- 2-D points ---------------------------------------------------------------------------------


def test_points_pipeline_returns_points_and_warns_about_clipping():
    torch.manual_seed(0)
    pipe = DDPMPipeline(denoiser=MLPDenoiser(data_dim=2), scheduler=DDPMScheduler(clip_sample=False))
    pipe.set_progress_bar_config(disable=True)
    points = pipe(batch_size=5, generator=seeded(), num_inference_steps=3).points
    assert isinstance(points, np.ndarray) and points.shape == (5, 2)
    with pytest.raises(ValueError, match="choose 'np' or 'pt'"):
        pipe(batch_size=1, num_inference_steps=2, output_type="pil")
    pipe.scheduler = DDPMScheduler(clip_sample=True)
    with pytest.warns(UserWarning, match="clip_sample=False"):
        pipe(batch_size=1, num_inference_steps=2)


def test_exactly_one_network_name():
    with pytest.raises(ValueError, match="exactly one of unet="):
        DDPMPipeline(scheduler=DDPMScheduler())
    with pytest.raises(ValueError, match="exactly one of unet="):
        DDPMPipeline(unet=tiny_unet(), denoiser=MLPDenoiser(), scheduler=DDPMScheduler())


# -- saving and loading -------------------------------------------------------------------------


def test_save_load_round_trip(pipe, tmp_path):
    pipe.save_pretrained(tmp_path / "pipe")
    index = json.loads((tmp_path / "pipe" / "model_index.json").read_text())
    # Every component has a diffusers twin, so the save is in diffusers' layout (test_diffusers_layout.py).
    assert index["_class_name"] == "DDPMPipeline"
    assert index["unet"] == ["diffusers", "UNet2DModel"] and index["scheduler"] == ["diffusers", "DDPMScheduler"]
    loaded = Pipeline.from_pretrained(tmp_path / "pipe")
    loaded.set_progress_bar_config(disable=True)
    assert type(loaded) is DDPMPipeline
    assert loaded.unet.config == pipe.unet.config and loaded.scheduler.config == pipe.scheduler.config
    for key, value in pipe.unet.state_dict().items():
        assert torch.equal(value, loaded.unet.state_dict()[key]), key
    before = pipe(batch_size=2, generator=seeded(3), num_inference_steps=5, output_type="pt").images
    after = loaded(batch_size=2, generator=seeded(3), num_inference_steps=5, output_type="pt").images
    assert torch.equal(before, after)


def test_scheduler_swap_is_saved_and_keeps_every_setting(pipe, tmp_path):
    pipe.scheduler = DDPMScheduler(variance_type="fixed_large", beta_schedule="squaredcos_cap_v2", clip_sample=False)
    original = pipe.scheduler.config
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)  # swap, no retraining
    pipe.save_pretrained(tmp_path / "pipe")
    index = json.loads((tmp_path / "pipe" / "model_index.json").read_text())
    assert index["scheduler"] == ["diffusers", "DDIMScheduler"] and index["_class_name"] == "DDIMPipeline"
    loaded = DDPMPipeline.from_pretrained(tmp_path / "pipe")
    assert isinstance(loaded.scheduler, DDIMScheduler)
    back = DDPMScheduler.from_config(loaded.scheduler.config)
    # DDPM -> DDIM -> save -> load -> DDPM keeps every DDPM key; DDIM's own key rides along.
    assert {key: back.config[key] for key in original} == dict(original)
    assert back.config.set_alpha_to_one is True


def test_component_overrides_when_loading(pipe, tmp_path):
    pipe.save_pretrained(tmp_path / "pipe")
    ddim = DDIMScheduler()
    loaded = DDPMPipeline.from_pretrained(tmp_path / "pipe", scheduler=ddim)
    assert loaded.scheduler is ddim
    with pytest.raises(ValueError, match="has no component"):
        DDPMPipeline.from_pretrained(tmp_path / "pipe", vae=ddim)


def test_points_pipeline_round_trip_names_the_denoiser(tmp_path):
    torch.manual_seed(0)
    pipe = DDPMPipeline(denoiser=MLPDenoiser(data_dim=2), scheduler=DDPMScheduler(clip_sample=False))
    pipe.set_progress_bar_config(disable=True)
    pipe.save_pretrained(tmp_path / "points")
    index = json.loads((tmp_path / "points" / "model_index.json").read_text())
    assert index["denoiser"] == ["gandiff", "MLPDenoiser"] and "unet" not in index
    loaded = Pipeline.from_pretrained(tmp_path / "points")
    loaded.set_progress_bar_config(disable=True)
    a = pipe(batch_size=4, generator=seeded(), num_inference_steps=4).points
    b = loaded(batch_size=4, generator=seeded(), num_inference_steps=4).points
    np.testing.assert_array_equal(a, b)


def test_a_failed_save_keeps_the_previous_pipeline(pipe, tmp_path, monkeypatch):
    target = tmp_path / "pipe"
    pipe.save_pretrained(target)
    good = (target / "unet" / "diffusion_pytorch_model.safetensors").read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(pipe.scheduler), "save_pretrained", crash)
    with pytest.raises(OSError, match="disk full"):
        pipe.save_pretrained(target)
    assert (target / "unet" / "diffusion_pytorch_model.safetensors").read_bytes() == good
    assert (target / "scheduler" / "scheduler_config.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_unregistered_component_cannot_be_saved(tmp_path):
    class Private(MLPDenoiser):
        pass

    pipe = DDPMPipeline(denoiser=Private(), scheduler=DDPMScheduler())
    with pytest.raises(ValueError, match="not registered.*@gandiff.register\\('model'\\)"):
        pipe.save_pretrained(tmp_path / "x")
    assert not (tmp_path / "x").exists()


# -- bad model_index files ----------------------------------------------------------------------


def write_index(folder, **entries):
    folder.mkdir(parents=True, exist_ok=True)
    index = {"_class_name": "DDPMPipeline", "_gandiff_version": "0.1.0", **entries}
    (folder / "model_index.json").write_text(json.dumps(index))
    return folder


def test_dangerous_class_in_model_index_executes_nothing(pipe, tmp_path, monkeypatch):
    pipe.save_pretrained(tmp_path / "pipe")
    write_index(tmp_path / "pipe", unet=["os", "system"], scheduler=["gandiff", "DDPMScheduler"])
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    with pytest.raises(ValueError, match="entry 'unet'.*\\['os', 'system'\\] is not a registered class"):
        Pipeline.from_pretrained(tmp_path / "pipe")
    assert calls == []


def test_unknown_pipeline_or_component_class_fails_clearly(tmp_path):
    folder = write_index(tmp_path / "a", unet=["gandiff", "UNet3DModel"])
    with pytest.raises(ValueError, match="UNet3DModel.*not a registered class"):
        Pipeline.from_pretrained(folder)
    index = {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.42.1"}
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match="StableDiffusionPipeline' has no gandiff equivalent"):
        Pipeline.from_pretrained(tmp_path / "b")
    folder = write_index(tmp_path / "c", unet="UNet2DModel")
    with pytest.raises(ValueError, match="expected \\[library, class name\\]"):
        Pipeline.from_pretrained(folder)


def test_loading_the_wrong_pipeline_class_is_an_error(tmp_path):
    torch.manual_seed(0)
    GANPipeline(generator=MLPGenerator()).save_pretrained(tmp_path / "gan")
    with pytest.raises(ValueError, match="holds a GANPipeline, not a DDPMPipeline"):
        DDPMPipeline.from_pretrained(tmp_path / "gan")
    with pytest.raises(FileNotFoundError, match="no model_index.json"):
        Pipeline.from_pretrained(tmp_path / "gan" / "generator")


# -- GANPipeline --------------------------------------------------------------------------------


def small_dcgan(**overrides):
    torch.manual_seed(0)
    return DCGANGenerator(
        **{"latent_dim": 16, "out_channels": 1, "resolution": 32, "base_channels": 8, **overrides}
    ).eval()


def test_gan_pipeline_images_and_round_trip(tmp_path):
    pipe = GANPipeline(generator=small_dcgan())
    images = pipe(batch_size=3, generator=seeded()).images
    assert len(images) == 3 and images[0].mode == "L" and images[0].size == (32, 32)
    pipe.save_pretrained(tmp_path / "gan")
    index = json.loads((tmp_path / "gan" / "model_index.json").read_text())
    assert index["generator"] == ["gandiff", "DCGANGenerator"] and index["discriminator"] == [None, None]
    loaded = Pipeline.from_pretrained(tmp_path / "gan")
    assert type(loaded) is GANPipeline and loaded.discriminator is None
    a = pipe(batch_size=3, generator=seeded(5), output_type="pt").images
    b = loaded(batch_size=3, generator=seeded(5), output_type="pt").images
    assert torch.equal(a, b)


def test_gan_pipeline_seeds_and_latents():
    pipe = GANPipeline(generator=small_dcgan())
    batch = pipe(batch_size=2, generator=[seeded(1), seeded(2)], output_type="pt").images
    alone = pipe(batch_size=1, generator=seeded(2), output_type="pt").images
    torch.testing.assert_close(batch[1:], alone, atol=1e-6, rtol=0)
    latents = torch.randn(2, 16, generator=seeded(7))
    first = pipe(batch_size=2, latents=latents, output_type="pt").images
    again = pipe(batch_size=2, latents=latents.clone(), output_type="pt").images
    assert torch.equal(first, again)
    with pytest.raises(ValueError, match="latents must have shape \\(2, 16\\)"):
        pipe(batch_size=2, latents=torch.randn(2, 15))


def test_gan_pipeline_keeps_the_discriminator_and_serves_points(tmp_path):
    from gandiff import MLPDiscriminator

    torch.manual_seed(0)
    pipe = GANPipeline(generator=MLPGenerator(), discriminator=MLPDiscriminator())
    points = pipe(batch_size=6, generator=seeded()).points
    assert points.shape == (6, 2)
    pipe.save_pretrained(tmp_path / "gan2d")
    loaded = Pipeline.from_pretrained(tmp_path / "gan2d")
    assert isinstance(loaded.discriminator, MLPDiscriminator)
    np.testing.assert_array_equal(loaded(batch_size=6, generator=seeded()).points, points)


def test_conditional_gan_pipeline():
    pipe = GANPipeline(generator=small_dcgan(num_classes=4))
    a = pipe(batch_size=2, generator=seeded(), class_labels=1, output_type="pt").images
    b = pipe(batch_size=2, generator=seeded(), class_labels=3, output_type="pt").images
    assert not torch.allclose(a, b)


# -- sampling has no side effects ---------------------------------------------------------------


@register("model")
class _NormDropoutTestDenoiser(MLPDenoiser):
    """An MLPDenoiser whose input passes batch norm and dropout, so its output depends on its mode."""

    def __init__(self, data_dim=2, hidden_dim=16, num_layers=2, time_embedding_dim=32, num_train_timesteps=1000,
                 num_classes=None):  # fmt: skip
        super().__init__(data_dim, hidden_dim, num_layers, time_embedding_dim, num_train_timesteps, num_classes)
        self.norm, self.dropout = torch.nn.BatchNorm1d(data_dim), torch.nn.Dropout(0.5)

    def forward(self, x_t, timestep, class_labels=None):
        return super().forward(self.dropout(self.norm(x_t)), timestep, class_labels)


@register("model")
class _NormDropoutTestGenerator(MLPGenerator):
    """An MLPGenerator whose latent passes batch norm and dropout, so its output depends on its mode."""

    def __init__(self, latent_dim=2, data_dim=2, hidden_dim=16, num_layers=2, num_classes=None):
        super().__init__(latent_dim, data_dim, hidden_dim, num_layers, num_classes)
        self.norm, self.dropout = torch.nn.BatchNorm1d(latent_dim), torch.nn.Dropout(0.5)

    def forward(self, z, class_labels=None):
        return super().forward(self.dropout(self.norm(z)), class_labels)


def _fresh_pipeline(kind):
    """A pipeline as a user builds it: networks fresh from their constructors, in train mode."""
    torch.manual_seed(0)
    if kind == "unet with dropout":
        unet = UNet2DModel(**{**tiny_unet().config, "dropout": 0.5}).train()
        return DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=20)), {"num_inference_steps": 4}
    if kind == "denoiser with batch norm and dropout":
        pipe = DDPMPipeline(denoiser=_NormDropoutTestDenoiser(), scheduler=DDPMScheduler(clip_sample=False))
        return pipe, {"num_inference_steps": 4}
    if kind == "dcgan with batch norm":
        return GANPipeline(generator=DCGANGenerator(latent_dim=8, out_channels=1, resolution=28, base_channels=4)), {}
    from gandiff import MLPDiscriminator

    # Rejection sampling calls G many times and D (spectral norm: power iteration in train mode) on each sample.
    pipe = GANPipeline(generator=_NormDropoutTestGenerator(), discriminator=MLPDiscriminator(spectral_norm=True))
    return pipe, {"rejection_sampling": True, "rejection_gamma": -5.0}


def _tensors(pipe):
    return {
        f"{name}.{key}": value.clone()
        for name, model in pipe.components.items()
        if isinstance(model, torch.nn.Module)
        for key, value in model.state_dict().items()
    }


def _modes(pipe):
    return {
        f"{name}.{sub}": module.training
        for name, model in pipe.components.items()
        if isinstance(model, torch.nn.Module)
        for sub, module in model.named_modules()
    }


def _sample(pipe, options, seed=0):
    pipe.set_progress_bar_config(disable=True)
    out = pipe(batch_size=8, generator=seeded(seed), output_type="pt", **options)
    return out.images if hasattr(out, "images") else out.points


SIDE_EFFECT_CASES = [
    "unet with dropout",
    "denoiser with batch norm and dropout",
    "dcgan with batch norm",
    "mlp gan with batch norm, dropout and a spectral-norm discriminator",
]


@pytest.mark.parametrize("kind", SIDE_EFFECT_CASES)
def test_sampling_changes_no_parameter_or_buffer_and_ignores_the_callers_mode(kind):
    """DESIGN.md, Pipelines: networks run in eval mode, the caller's mode comes back, no tensor changes."""
    pipe, options = _fresh_pipeline(kind)
    before = _tensors(pipe)
    samples = {}
    for mode in ("train", "eval", "mixed"):
        for model in (c for c in pipe.components.values() if isinstance(c, torch.nn.Module)):
            model.train(mode != "eval")
            if mode == "mixed":  # e.g. a caller who froze the normalisation layers while fine-tuning
                for module in model.modules():
                    if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.GroupNorm)):
                        module.eval()
        modes = _modes(pipe)
        samples[mode] = _sample(pipe, options)
        assert _modes(pipe) == modes, f"sampling did not give back the {mode} mode"
        after = _tensors(pipe)
        changed = [key for key in before if not torch.equal(before[key], after[key])]
        assert not changed, f"sampling in {mode} mode changed {changed}"
    assert torch.equal(samples["train"], samples["eval"]) and torch.equal(samples["train"], samples["mixed"])


@pytest.mark.parametrize("kind", SIDE_EFFECT_CASES)
def test_a_saved_then_loaded_pipeline_gives_the_same_samples(kind, tmp_path):
    """The same seed and weights give the same samples before and after a save (DESIGN.md, Pipelines)."""
    pipe, options = _fresh_pipeline(kind)
    first = _sample(pipe, options, seed=3)
    pipe.save_pretrained(tmp_path / "pipe")
    loaded = Pipeline.from_pretrained(tmp_path / "pipe")
    assert torch.equal(_sample(loaded, options, seed=3), first)
    assert torch.equal(_sample(pipe, options, seed=3), first)


# -- sampling helpers and the per-step callback ------------------------------------------------


def test_balanced_labels_ask_for_every_class_equally_often():
    from gandiff.pipelines.sampling import balanced_labels

    labels = balanced_labels(23, 5)
    assert labels.tolist()[:7] == [0, 1, 2, 3, 4, 0, 1]
    counts = torch.bincount(labels, minlength=5)
    assert counts.sum() == 23 and counts.max() - counts.min() <= 1  # ⌊23/5⌋ or ⌈23/5⌉ each
    assert balanced_labels(23, None) is None


def test_draw_samples_gives_balanced_labels_in_batches_from_one_seed():
    from gandiff.pipelines.sampling import draw_samples

    seen = []

    class Recorder(MLPGenerator):
        def forward(self, z, class_labels=None):
            seen.append(class_labels.tolist())
            return super().forward(z, class_labels)

    torch.manual_seed(0)
    pipe = GANPipeline(generator=Recorder(num_classes=3))
    assert pipe.num_classes == 3 and not pipe.is_diffusion
    samples = draw_samples(pipe, 7, seed=5, batch_size=3)
    assert seen == [[0, 1, 2], [0, 1, 2], [0]]
    # The batches draw one after another from one generator seeded once.
    generator = seeded(5)
    expected = [
        pipe(batch_size=len(y), generator=generator, class_labels=y, output_type="pt").points for y in seen[:3]
    ]
    assert torch.equal(samples, torch.cat(expected))


def test_draw_samples_returns_images_in_zero_one(pipe):
    from gandiff.pipelines.sampling import draw_samples

    images = draw_samples(pipe, 3, seed=1, num_inference_steps=2)
    expected = pipe(batch_size=3, generator=seeded(1), num_inference_steps=2, output_type="pt").images
    assert torch.equal(images, expected) and pipe.num_classes is None and pipe.is_diffusion


def test_callback_sees_each_step_of_the_loop():
    """callback(i, t, x_t, x0): x_T is the seed's noise; x0 is DDIM's prediction, Song et al. 2021 eq. 12."""
    torch.manual_seed(0)
    network = MLPDenoiser(hidden_dim=16, num_layers=1)
    pipe = DDPMPipeline(denoiser=network, scheduler=DDIMScheduler(clip_sample=False))
    pipe.set_progress_bar_config(disable=True)
    steps = []
    out = pipe(
        batch_size=4, generator=seeded(2), num_inference_steps=5, output_type="pt", callback=lambda *a: steps.append(a)
    )
    plain = pipe(batch_size=4, generator=seeded(2), num_inference_steps=5, output_type="pt").points
    assert torch.equal(out.points, plain)  # a callback changes nothing
    assert [i for i, *_ in steps] == [0, 1, 2, 3, 4]
    assert [int(t) for _, t, *_ in steps] == pipe.scheduler.timesteps.tolist() == [800, 600, 400, 200, 0]
    torch.testing.assert_close(steps[0][2], torch.randn(4, 2, generator=seeded(2)))  # x_T, σ_init = 1
    for _, t, x_t, x0 in steps:
        alpha_bar = pipe.scheduler.alphas_cumprod[int(t)].float()
        epsilon = network(x_t, t)
        torch.testing.assert_close(x0, (x_t - (1 - alpha_bar).sqrt() * epsilon) / alpha_bar.sqrt())
