"""The shipped digit classifiers and the offline image metrics built on their features.

Numbers quoted below come from ``scripts/train_digit_classifier.py`` (recorded in
``src/gandiff/metrics/weights/<name>/training.json``) and from running `digit_metrics` on
the constructed image sets named in each test.
"""

import json
import math
import shutil
from importlib.resources import files

import pytest
import torch
from safetensors.torch import load_file, save_file

from gandiff.data import load_dataset
from gandiff.evaluation import evaluate_pipeline
from gandiff.metrics.digit_classifier import (
    DigitClassifier,
    classify,
    load_digit_classifier,
    reference_split,
    to_resolution,
)
from gandiff.metrics.evaluate import (
    _real_images,
    digit_baselines,
    digit_metrics,
)
from gandiff.pipelines import GANPipeline


def _weights(name):
    return files("gandiff.metrics") / "weights" / name


def _digits():
    images, labels = _real_images("digits", 8)  # (1797, 1, 8, 8) in [-1, 1], cached for the module
    reference, held_out = reference_split(labels)
    return images, labels, reference, held_out


@pytest.mark.parametrize(
    "name, accuracy",
    # training.json: held-out accuracy 0.9788 (digits, 896 images), 0.9732 (mnist5k, 2,500 images)
    [("digits", 0.975), ("mnist5k", 0.97)],
)
def test_shipped_classifier_reaches_its_held_out_accuracy(name, accuracy):
    images, labels = _real_images(name, load_dataset(name).sample_shape[-1])
    _, held_out = reference_split(labels)
    _, predicted = classify(load_digit_classifier(name), images[held_out])
    assert (predicted == labels[held_out]).double().mean().item() >= accuracy
    record = json.loads((_weights(name) / "training.json").read_text(encoding="utf-8"))
    assert record["held_out_accuracy"] >= accuracy and record["dataset"] == name


def test_shipped_weights_are_small_safetensors():
    for name in ("digits", "mnist5k"):
        folder = _weights(name)
        assert (folder / "model.safetensors").stat().st_size < 300_000
        assert not any(path.name.endswith((".bin", ".pt", ".pth")) for path in folder.iterdir())


def test_loading_is_strict(tmp_path):
    shutil.copytree(_weights("digits"), tmp_path / "clf")
    weights = load_file(tmp_path / "clf" / "model.safetensors")
    del weights["feature_layer.bias"]
    save_file(weights, tmp_path / "clf" / "model.safetensors")
    with pytest.raises(ValueError, match="missing feature_layer.bias"):
        DigitClassifier.from_pretrained(tmp_path / "clf")
    (tmp_path / "clf" / "model.safetensors").unlink()
    torch.save(weights, tmp_path / "clf" / "pytorch_model.bin")
    with pytest.raises(ValueError, match="only pickled weights"):
        DigitClassifier.from_pretrained(tmp_path / "clf")
    with pytest.raises(ValueError, match="ships one for: digits, mnist5k"):
        load_digit_classifier("cifar10")


def test_reference_split_is_disjoint_balanced_and_fixed():
    labels = torch.arange(101) % 10
    reference, held_out = reference_split(labels)
    assert len(set(reference.tolist()) | set(held_out.tolist())) == 101 and not set(reference.tolist()) & set(
        held_out.tolist()
    )
    counts = torch.bincount(labels[reference], minlength=10) - torch.bincount(labels[held_out], minlength=10)
    assert counts.tolist() == [1] + [0] * 9  # class 0 has 11 items: the odd one goes to the reference half
    assert torch.equal(reference_split(labels)[0], reference)


def test_classifier_input_checks_and_resizing():
    classifier = load_digit_classifier("digits")
    with pytest.raises(ValueError, match="to_resolution"):
        classifier(torch.zeros(2, 1, 16, 16))
    images, *_ = _digits()
    up = to_resolution(images[:4], 32)
    assert up.shape == (4, 1, 32, 32) and up.min() >= -1 and up.max() <= 1
    # classify() brings any size back to 8 × 8: a 8 -> 32 -> 8 round trip keeps the predictions.
    assert torch.equal(classify(classifier, up)[1], classify(classifier, images[:4])[1])


def test_true_data_scores_at_the_floor():
    """Every other held-out digit (448) against the reference half: within the sampling noise
    of the floor, which compares a random 448 of the held-out half in the same way."""
    images, _, _, held_out = _digits()
    rows, details = digit_metrics(images[held_out[::2]], "digits", seed=1)
    assert details["floor_size"] == 448 and details["reference_size"] == 901
    assert details["classifier_held_out_accuracy"] > 0.975
    assert rows["frechet_distance"]["model"] < 1.5 * rows["frechet_distance"]["data"]
    assert rows["classes_covered"]["model"] == 10
    assert rows["precision"]["model"] > 0.85 and rows["recall"]["model"] > 0.85


def test_collapsed_noised_blurry_and_gaussian_samples_score_worse():
    """Measured with the shipped classifier, 896 samples each (the floor is 1.24):
    one image repeated 701, a Gaussian fitted to the pixels 40.7, blurry class means 27.9,
    held-out digits + N(0, 0.3²) noise 10.6."""
    images, labels, _, held_out = _digits()
    count = len(held_out)
    generator = torch.Generator().manual_seed(1)

    collapsed, _ = digit_metrics(images[held_out[:1]].expand(count, -1, -1, -1), "digits")
    floor = collapsed["frechet_distance"]["data"]
    assert collapsed["classes_covered"]["model"] == 1
    assert collapsed["class_kl"]["model"] == pytest.approx(math.log(10))
    assert collapsed["recall"]["model"] < 0.01 and collapsed["frechet_distance"]["model"] > 100 * floor

    flat = images.flatten(1).double()
    eigenvalues, eigenvectors = torch.linalg.eigh(torch.cov(flat.T))
    root = eigenvectors @ torch.diag(eigenvalues.clamp(min=0).sqrt()) @ eigenvectors.T
    gaussian = flat.mean(0) + torch.randn(count, 64, generator=generator, dtype=torch.float64) @ root
    gaussian_rows, _ = digit_metrics(gaussian.float().clamp(-1, 1).reshape(-1, 1, 8, 8), "digits")
    assert gaussian_rows["frechet_distance"]["model"] > 10 * floor
    assert gaussian_rows["precision"]["model"] < 0.6

    class_means = torch.stack([images[labels == c].mean(0) for c in range(10)])
    blurry, _ = digit_metrics(class_means[torch.arange(count) % 10], "digits")
    assert blurry["classes_covered"]["model"] == 10 and blurry["class_kl"]["model"] < 0.001  # fools the mode count
    assert blurry["frechet_distance"]["model"] > 10 * floor and blurry["recall"]["model"] < 0.01  # not these

    noised = (images[held_out] + 0.3 * torch.randn(images[held_out].shape, generator=generator)).clamp(-1, 1)
    noised_rows, _ = digit_metrics(noised, "digits")
    assert 3 * floor < noised_rows["frechet_distance"]["model"] < gaussian_rows["frechet_distance"]["model"]


def test_metrics_need_a_classifier_or_inception():
    with pytest.raises(ValueError, match="inception=True"):
        digit_metrics(torch.zeros(4, 1, 8, 8), "ring8")
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        digit_metrics(torch.zeros(4, 64), "digits")


def test_evaluate_pipeline_on_images_at_another_resolution(tmp_path, capsys):
    """An untrained DCGAN at 32 × 32 on digits (trained-at-32 models are sampled so): the data
    are resized to 32 like the training data, then everything back to the classifier's 8."""
    from gandiff import DCGANGenerator

    torch.manual_seed(0)
    pipe = GANPipeline(generator=DCGANGenerator(latent_dim=8, out_channels=1, resolution=32, base_channels=4))
    result = evaluate_pipeline(pipe, "digits", json_path=tmp_path / "digits.json")
    assert result["num_samples"] == 896  # the held-out half
    metrics = result["metrics"]
    assert set(metrics) == {"frechet_distance", "classes_covered", "class_kl", "precision", "recall"}
    assert metrics["frechet_distance"]["model"] > 10 * metrics["frechet_distance"]["data"]
    assert metrics["classes_covered"]["data"] == 10
    assert "| Fréchet distance (classifier features) |" in capsys.readouterr().out
    saved = json.loads((tmp_path / "digits.json").read_text(encoding="utf-8"))
    assert saved["details"]["floor_size"] == 896 and saved["dataset"] == "digits"


def test_baselines_are_the_clipped_pixel_gaussian_and_the_class_means():
    """`digit_baselines`: per pixel, the Gaussian fit's samples average to the mean of a normal
    N(μ_i, σ_i²) clipped to [-1, 1] (closed form below, μ_i and σ_i from all 1,797 digits), and
    pixel pairs keep the data's correlations (Sheppard's formula); the class means are the mean
    image of each digit, in turn."""
    images, labels, _, _ = _digits()
    count = 20_000
    baselines = digit_baselines("digits", count, seed=2)
    gaussian, means = baselines["gaussian_fit"], baselines["class_means"]
    assert gaussian.shape == means.shape == (count, 1, 8, 8)
    assert gaussian.min() >= -1 and gaussian.max() <= 1

    pixels = images.flatten(1).double()
    mu, sigma = pixels.mean(0), pixels.std(0)
    varies = sigma > 0.05  # the always-background corner pixels stay exactly at their mean
    normal = torch.distributions.Normal(0.0, 1.0)
    alpha, beta = (-1 - mu[varies]) / sigma[varies], (1 - mu[varies]) / sigma[varies]
    cdf_a, cdf_b = normal.cdf(alpha), normal.cdf(beta)
    pdf_a, pdf_b = normal.log_prob(alpha).exp(), normal.log_prob(beta).exp()
    # E[clip(X, a, b)] = a Φ(α) + b (1 − Φ(β)) + μ (Φ(β) − Φ(α)) − σ (φ(β) − φ(α)), X ~ N(μ, σ²)
    clipped_mean = -cdf_a + (1 - cdf_b) + mu[varies] * (cdf_b - cdf_a) - sigma[varies] * (pdf_b - pdf_a)
    sampled = gaussian.flatten(1).double()
    torch.testing.assert_close(sampled[:, varies].mean(0), clipped_mean, atol=0.02, rtol=0)
    torch.testing.assert_close(sampled[:, ~varies].mean(0), mu[~varies], atol=0.02, rtol=0)
    # The covariance, through Sheppard's formula: for (X, Y) ~ N with correlation ρ, the quadrant
    # probability P(X > μ_X, Y > μ_Y) = 1/4 + arcsin(ρ) / 2π. Clipping to [-1, 1] keeps which side
    # of μ ∈ (-1, 1) a value lies on, so the clipped samples must match ρ of the data.
    chosen = torch.where(mu.abs() < 0.5, sigma, torch.zeros_like(sigma)).argsort(descending=True)[:8]
    rho = torch.corrcoef(pixels[:, chosen].T)
    above = (sampled[:, chosen] > mu[chosen]).double()  # (count, 8)
    quadrant = above.T @ above / count
    sheppard = 0.25 + torch.arcsin(rho.clamp(-1, 1)) / (2 * math.pi)
    off_diagonal = ~torch.eye(len(chosen), dtype=torch.bool)
    assert rho[off_diagonal].abs().max() > 0.5  # strongly correlated pairs among them
    torch.testing.assert_close(quadrant[off_diagonal], sheppard[off_diagonal], atol=0.015, rtol=0)  # SE ≈ 0.0035

    for c in range(10):
        torch.testing.assert_close(means[c], images[labels == c].mean(0))
    assert torch.equal(means[10:20], means[:10])
