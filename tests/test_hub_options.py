"""The Hub keyword arguments are typed once (`HubOptions`), and `push_to_hub` is written once.

Every ``from_pretrained`` / ``load_config`` hands its Hub options on to `gandiff.hub`, so they
behave alike everywhere: a Hub option given for a local folder reaches the resolver (which refuses
a revision of a local folder), and a misspelt one is an error naming the valid ones.
"""

import pytest

from gandiff import DDPMScheduler, GANPipeline, MLPGenerator, ModelMixin, Pipeline
from gandiff.configuration import ConfigMixin
from gandiff.hub import HubOptions, PushToHubMixin, check_hub_options, pop_hub_options


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("saved")
    GANPipeline(generator=MLPGenerator(latent_dim=2, data_dim=2, hidden_dim=4, num_layers=1)).save_pretrained(folder)
    DDPMScheduler().save_pretrained(folder / "scheduler")
    return folder


def loaders(saved):
    return {
        "DDPMScheduler.from_pretrained": lambda **kw: DDPMScheduler.from_pretrained(saved, "scheduler", **kw),
        "DDPMScheduler.load_config": lambda **kw: DDPMScheduler.load_config(saved, "scheduler", **kw),
        "MLPGenerator.from_pretrained": lambda **kw: MLPGenerator.from_pretrained(saved, "generator", **kw),
        "ModelMixin.from_pretrained": lambda **kw: ModelMixin.from_pretrained(saved, "generator", **kw),
        "Pipeline.from_pretrained": lambda **kw: Pipeline.from_pretrained(saved, **kw),
    }


def test_every_loader_passes_the_hub_options_on(saved):
    for name, load in loaders(saved).items():
        assert load(local_files_only=True, cache_dir=None, token=None) is not None, name
        with pytest.raises(ValueError, match="revision='v1' selects a version of a Hub repo"):
            load(revision="v1")


def test_a_misspelt_hub_option_names_the_valid_ones(saved):
    for name, load in loaders(saved).items():
        if name.startswith("Pipeline"):
            continue  # a pipeline takes components as keywords too: see below
        with pytest.raises(
            TypeError, match=f"{name}\\(\\) got an unexpected keyword argument 'revison'; its Hub options"
        ):
            load(revison="v1")
    with pytest.raises(ValueError, match="has no component\\(s\\) \\['revison'\\]"):
        Pipeline.from_pretrained(saved, revison="v1")


def test_hub_option_helpers():
    assert set(HubOptions.__annotations__) >= {"revision", "token", "cache_dir", "local_files_only"}
    kwargs = {"revision": "v1", "scheduler": "a component"}
    assert pop_hub_options(kwargs) == {"revision": "v1"} and kwargs == {"scheduler": "a component"}
    assert check_hub_options({"token": "t"}, "f") == {"token": "t"}


def test_push_to_hub_is_written_once():
    assert ConfigMixin.push_to_hub is PushToHubMixin.push_to_hub
    assert Pipeline.push_to_hub is PushToHubMixin.push_to_hub
    assert MLPGenerator.push_to_hub is PushToHubMixin.push_to_hub
