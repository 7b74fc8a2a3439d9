"""The registry: names in saved files map to classes only through it."""

import sys
import textwrap

import pytest

import gandiff.registry as registry
from gandiff.registry import known_names, lookup, register, resolve_library_class


def test_builtin_classes_resolve_by_name():
    from gandiff.schedulers.ddpm import DDPMScheduler

    assert lookup("scheduler", "DDPMScheduler") is DDPMScheduler
    assert {"DDPMScheduler", "DDIMScheduler"} <= set(known_names("scheduler"))
    assert {"DDPMPipeline", "GANPipeline"} <= set(known_names("pipeline"))


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="unknown scheduler 'DDPNScheduler'; known: .*DDIMScheduler, DDPMScheduler"):
        lookup("scheduler", "DDPNScheduler")
    with pytest.raises(ValueError, match="unknown registry kind"):
        lookup("sampler", "x")


def test_diffusers_names_map_to_gandiff_equivalents():
    from gandiff.pipelines.ddpm import DDPMPipeline

    assert resolve_library_class("diffusers", "DDIMPipeline", kinds=("pipeline",)) is DDPMPipeline
    with pytest.raises(KeyError, match="has no gandiff equivalent"):
        resolve_library_class("diffusers", "StableDiffusionPipeline", kinds=("pipeline",))


def test_a_module_path_from_a_file_is_never_imported(monkeypatch):
    imported = []
    monkeypatch.setattr(registry.importlib, "import_module", lambda name: imported.append(name))
    with pytest.raises(KeyError, match="not a registered class"):
        resolve_library_class("os", "system")
    assert imported == []  # neither "os" nor anything else was imported


def test_a_name_cannot_be_taken_twice():
    @register("scheduler", name="_TestOnlyScheduler")
    class First:
        pass

    with pytest.raises(ValueError, match="already registered"):

        @register("scheduler", name="_TestOnlyScheduler")
        class Second:
            pass

    registry._registered["scheduler"].pop("_TestOnlyScheduler")


def test_plugins_come_from_the_entry_point_group(tmp_path, monkeypatch):
    """An installed package declaring `gandiff.plugins` adds a scheduler, found by name."""
    package = tmp_path / "gandiff_toy_plugin"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from gandiff.schedulers.ddim import DDIMScheduler

            class ToyPluginScheduler(DDIMScheduler):
                pass
            """
        )
    )
    dist_info = tmp_path / "gandiff_toy_plugin-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: gandiff-toy-plugin\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text("[gandiff.plugins]\ntoy = gandiff_toy_plugin:ToyPluginScheduler\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    try:
        cls = lookup("scheduler", "ToyPluginScheduler")
        assert cls.__module__ == "gandiff_toy_plugin"
        assert "ToyPluginScheduler" in known_names("scheduler")
    finally:
        registry._registered["scheduler"].pop("ToyPluginScheduler", None)
        sys.modules.pop("gandiff_toy_plugin", None)
