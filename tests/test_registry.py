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


def test_the_registry_imports_nothing_of_gandiff():
    """DESIGN's module map: the registry is on the bottom floor and knows no concrete class."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(registry))
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and not n.level]
    relative = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert not relative and not [name for name in imported if name.startswith("gandiff")]
    assert not [s for s in strings if s.startswith("gandiff.") and s != registry.PLUGIN_GROUP]


def test_a_class_states_its_kind_and_a_wrong_registration_is_refused():
    from gandiff import DDIMScheduler, GANPipeline, UNet2DModel

    assert [registry.kind_of(c) for c in (DDIMScheduler, UNet2DModel, GANPipeline)] == [
        "scheduler",
        "model",
        "pipeline",
    ]
    with pytest.raises(TypeError, match="states no registry kind"):
        registry.kind_of(int)
    with pytest.raises(ValueError, match="is a scheduler, not a model; register it with @register\\('scheduler'\\)"):

        @register("model")
        class NotAModel(DDIMScheduler):
            pass


def test_every_lookup_failure_is_one_error_type_naming_the_fix():
    failures = [
        lambda: lookup("scheduler", "DDPNScheduler"),
        lambda: lookup("sampler", "DDPMScheduler"),
        lambda: known_names("sampler"),
        lambda: resolve_library_class("diffusers", "StableDiffusionPipeline"),
        lambda: resolve_library_class("gandiff", "NoSuchModel"),
    ]
    for failure in failures:
        with pytest.raises(registry.RegistryError) as caught:
            failure()
        assert isinstance(caught.value, KeyError) and isinstance(caught.value, ValueError)
        assert "known" in str(caught.value) or "supported" in str(caught.value)
        assert not str(caught.value).startswith("'")  # the message itself, not KeyError's repr of it
    with pytest.raises(
        registry.RegistryError, match="install that package; a class of your own needs @gandiff.register"
    ):
        lookup("model", "NoSuchModel")
