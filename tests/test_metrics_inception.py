"""Standard FID through torch-fidelity: the messages when the package or its weights are
missing, and the feature plumbing with a stand-in extractor. Nothing is downloaded."""

import importlib
import types
import urllib.error

import pytest
import torch

from gandiff.metrics.frechet_distance import frechet_distance

# The module, looked up in sys.modules: ``import gandiff.metrics.inception_fid as inception`` reads the
# package attribute, which is the function `inception_fid` once anything has asked gandiff.metrics for it.
inception = importlib.import_module("gandiff.metrics.inception_fid")

URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"


class FakeExtractor:
    """Stands in for torch-fidelity's FeatureExtractorInceptionV3: checks the inputs it is
    given (uint8, 3 channels) and returns the per-channel means as 'features'."""

    def __init__(self, name, features_list, feature_extractor_weights_path=None):
        assert name == "inception-v3-compat" and features_list == ["2048"]
        self.weights_path = feature_extractor_weights_path

    def __call__(self, x):
        assert x.dtype == torch.uint8 and x.shape[1] == 3
        return (x.float().mean(dim=(2, 3)),)


@pytest.fixture
def fake_fidelity(monkeypatch, tmp_path):
    """torch-fidelity replaced by a module holding its URL and the fake extractor; torch's hub
    cache moved to an empty folder; any download attempt fails as it does offline."""
    module = types.SimpleNamespace(URL_INCEPTION_V3=URL, FeatureExtractorInceptionV3=FakeExtractor)
    monkeypatch.setattr(inception, "_torch_fidelity", lambda: module)
    inception._extractor.cache_clear()  # no extractor built in another test
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def offline(url, dst, progress=True):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    return tmp_path / "hub" / "checkpoints" / "weights-inception-2015-12-05-6726825d.pth"


def test_missing_package_says_how_to_install(monkeypatch):
    def no_fidelity(name):
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(inception.importlib, "import_module", no_fidelity)
    with pytest.raises(ImportError, match=r"torch-fidelity.*pip install \"gandiff\[metrics\]\""):
        inception.inception_fid(torch.zeros(2, 3, 8, 8), torch.zeros(2, 3, 8, 8))


def test_offline_download_failure_names_the_file_and_where_to_put_it(fake_fidelity):
    with pytest.raises(inception.InceptionWeightsUnavailableError) as error:
        inception.inception_fid(torch.zeros(2, 3, 8, 8), torch.zeros(2, 3, 8, 8))
    message = str(error.value)
    assert "could not be downloaded" in message and "name resolution" in message
    assert URL in message and str(fake_fidelity) in message and "weights_path=" in message
    assert "digits or mnist5k" in message  # the offline alternative


def test_no_download_when_not_allowed(fake_fidelity):
    with pytest.raises(inception.InceptionWeightsUnavailableError, match="not cached; download https://"):
        inception.inception_weights_path(download=False)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        inception.inception_weights_path(fake_fidelity.parent / "missing.pth")


def test_cached_weights_are_used_and_fid_is_the_frechet_distance_of_the_features(fake_fidelity):
    fake_fidelity.parent.mkdir(parents=True)
    fake_fidelity.write_bytes(b"stand-in")
    assert inception.inception_weights_path() == fake_fidelity
    generator = torch.Generator().manual_seed(0)
    real = torch.rand(40, 1, 8, 8, generator=generator) * 2 - 1  # grey: repeated to 3 channels
    fake = torch.rand(30, 1, 8, 8, generator=generator) - 0.2

    # Features of the stand-in: the mean of the 8-bit pixels, the same in all 3 channels.
    def pixel_means(images):
        return ((images + 1) * 127.5).round().clamp(0, 255).mean(dim=(1, 2, 3))[:, None].expand(-1, 3)

    expected = frechet_distance(pixel_means(real), pixel_means(fake))
    assert inception.inception_fid(real, fake, batch_size=16) == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match="1 or 3"):
        inception.inception_features(torch.zeros(2, 2, 8, 8))
