"""Class coverage, the shared KL-from-uniform, sliced Wasserstein with its floor, and the 2-D
evaluation (mode coverage + sliced Wasserstein beside fresh data) of whole pipelines."""

import json
import math

import pytest
import torch

from gandiff.data import grid25, ring8
from gandiff.evaluation import evaluate_pipeline
from gandiff.metrics import (
    class_coverage,
    kl_from_uniform,
    sliced_wasserstein_with_floor,
)
from gandiff.metrics.evaluate import point_metrics
from gandiff.models.modeling import ModelMixin
from gandiff.pipelines import GANPipeline


def test_kl_from_uniform_closed_forms():
    assert kl_from_uniform(torch.tensor([5, 5, 5, 5])) == pytest.approx(0.0)
    # All mass on one of K modes: log K. Evenly on 2 of 10: log(10 / 2).
    assert kl_from_uniform(torch.tensor([7, 0, 0, 0, 0, 0, 0, 0, 0, 0])) == pytest.approx(math.log(10))
    assert kl_from_uniform(torch.tensor([3, 3, 0, 0, 0, 0, 0, 0, 0, 0])) == pytest.approx(math.log(5))
    assert kl_from_uniform(torch.zeros(4)) == math.inf


def test_class_coverage_counts_and_threshold():
    predicted = torch.tensor([0] * 50 + [1] * 49 + [2])
    score = class_coverage(predicted, num_classes=10)
    assert score.classes_covered == 3 and score.counts[:3] == (50, 49, 1) and score.num_classes == 10
    assert class_coverage(predicted, num_classes=10, min_count=2).classes_covered == 2
    assert class_coverage(torch.arange(1000) % 10, 10).kl_from_uniform == pytest.approx(0.0)
    with pytest.raises(ValueError, match="class indices"):
        class_coverage(torch.tensor([10]), num_classes=10)


def test_sliced_wasserstein_true_data_sits_at_the_floor_and_shifts_score_worse():
    mixture = grid25()

    def draw(seed):
        return mixture.sample(2500, generator=torch.Generator().manual_seed(seed))

    reference, independent = draw(1), draw(2)
    true = sliced_wasserstein_with_floor(draw(3), reference, independent)
    assert true.distance < 1.5 * true.floor
    shifted = sliced_wasserstein_with_floor(draw(3) + torch.tensor([1.0, 0.0]), reference, independent)
    # A shift by δ along x moves the projection on θ by δ cos θ, so for the distributions
    # SW₂ = δ √E[cos² θ] = δ/√2 ≈ 0.71; the samples add their own noise (the floor, ≈ 0.2 here).
    assert shifted.distance == pytest.approx(1 / math.sqrt(2), abs=0.15)
    assert shifted.distance > 2 * shifted.floor
    with pytest.raises(ValueError, match="as many points"):
        sliced_wasserstein_with_floor(draw(3), reference, independent[:10])


def test_point_metrics_of_true_and_collapsed_samples():
    mixture = ring8()
    true, details = point_metrics(mixture.sample(2500, generator=torch.Generator().manual_seed(5)), "ring8")
    assert details == {"reference_size": 2500, "floor_size": 2500}
    assert true["modes_captured"]["model"] == true["modes_captured"]["data"] == 8
    # P(‖x − μ‖ < 3σ) = 1 − exp(−9/2) ≈ 0.989 for a 2-D isotropic Gaussian (chi with 2 dof).
    assert true["high_quality_fraction"]["data"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert true["sliced_wasserstein"]["model"] < 1.5 * true["sliced_wasserstein"]["data"]
    collapsed, _ = point_metrics(
        mixture.centers[2] + 0.01 * torch.randn(2500, 2, generator=torch.Generator().manual_seed(6)), "ring8"
    )
    assert collapsed["modes_captured"]["model"] == 1
    assert collapsed["mode_kl"]["model"] == pytest.approx(math.log(8))
    assert collapsed["sliced_wasserstein"]["model"] > 10 * collapsed["sliced_wasserstein"]["data"]
    curve, _ = point_metrics(torch.randn(100, 2), "swissroll")  # no mixture: no modes to count
    assert set(curve) == {"sliced_wasserstein"}


class MixtureSampler(ModelMixin):
    """A 'generator' that turns z ~ N(0, I₃) into exact samples of a 2-D mixture: Φ(z₀) picks the
    component uniformly, (z₁, z₂) the Gaussian offset. With `collapse_to` it always picks one component."""

    def __init__(self, mixture_name: str = "grid25", latent_dim: int = 3, collapse_to: int | None = None):
        super().__init__()
        self.mixture = {"grid25": grid25, "ring8": ring8}[mixture_name]()

    @property
    def sample_shape(self) -> tuple[int]:
        return (2,)  # one 2-D point, as every generator states its output (MLPGenerator's is (data_dim,))

    def forward(self, z, class_labels=None):
        centers = self.mixture.centers
        component = (torch.special.ndtr(z[:, 0]) * len(centers)).long().clamp(max=len(centers) - 1)  # Φ(z₀)
        if self.config.collapse_to is not None:
            component = torch.full_like(component, self.config.collapse_to)
        return centers[component] + self.mixture.std * z[:, 1:3]


def test_evaluate_pipeline_on_points_writes_table_and_json(tmp_path, capsys):
    perfect = GANPipeline(generator=MixtureSampler())
    result = evaluate_pipeline(perfect, "grid25", json_path=tmp_path / "eval.json")
    metrics = result["metrics"]
    assert result["num_samples"] == 2500  # the VEEGAN / PacGAN protocol
    assert metrics["modes_captured"]["model"] == 25
    assert metrics["high_quality_fraction"]["model"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert metrics["sliced_wasserstein"]["model"] < 1.5 * metrics["sliced_wasserstein"]["data"]
    table = capsys.readouterr().out
    assert "| modes captured (of 25) | 25 | 25 |" in table and "data (floor)" in table
    saved = json.loads((tmp_path / "eval.json").read_text(encoding="utf-8"))
    assert saved["metrics"]["modes_captured"] == {"label": "modes captured (of 25)", "model": 25, "data": 25}

    collapsed = evaluate_pipeline(
        GANPipeline(generator=MixtureSampler(collapse_to=12)), "grid25", num_samples=500, verbose=False
    )
    assert collapsed["metrics"]["modes_captured"]["model"] == 1
    assert collapsed["metrics"]["mode_kl"]["model"] == pytest.approx(math.log(25))


def test_evaluate_pipeline_swaps_the_scheduler_without_changing_the_pipeline(tmp_path):
    from gandiff import DDPMPipeline, DDPMScheduler, MLPDenoiser

    pipe = DDPMPipeline(denoiser=MLPDenoiser(hidden_dim=16, num_layers=1), scheduler=DDPMScheduler(clip_sample=False))
    pipe.set_progress_bar_config(disable=True)
    pipe.save_pretrained(tmp_path / "pipe")
    result = evaluate_pipeline(
        tmp_path / "pipe", "ring8", num_samples=64, scheduler="ddim", num_inference_steps=3, verbose=False
    )
    assert result["scheduler"] == "DDIMScheduler" and result["num_inference_steps"] == 3
    evaluate_pipeline(pipe, "ring8", num_samples=64, scheduler="ddim", num_inference_steps=3, verbose=False)
    assert type(pipe.scheduler).__name__ == "DDPMScheduler"
    with pytest.raises(ValueError, match="choose one of: ddpm, ddim"):
        evaluate_pipeline(pipe, "ring8", num_samples=8, scheduler="pndm")
    with pytest.raises(ValueError, match="samples in one step"):
        evaluate_pipeline(GANPipeline(generator=MixtureSampler()), "ring8", num_samples=8, num_inference_steps=3)
