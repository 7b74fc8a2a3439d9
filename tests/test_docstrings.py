"""Every public name has a Google-style docstring, and every example in a docstring runs.

Public names are everything in the ``__all__`` of gandiff and of each of its modules, and the
public methods (names without a leading underscore, plus ``__call__``) and properties of the
public classes, wherever gandiff defines them. Constants in ``__all__`` (``KINDS``,
``BETA_SCHEDULES``, ...) are left out: a tuple or a string cannot carry a docstring of its own.
Methods that a class inherits from outside gandiff (``torch.nn.Module.train``, ...) are
documented there.

The rule each of those names must meet (Google style, as mkdocstrings renders it):

* a docstring whose first line is a summary;
* a function or method that takes parameters besides ``self``/``cls`` has an ``Args:``
  section that names every one of them (``*args`` and ``**kwargs`` by their bare names; a line
  naming several, ``a, b: as for X``, counts for each);
* a class documents its constructor's parameters in its own docstring, under ``Args:`` (or
  ``Attributes:`` for a dataclass, whose fields are its parameters); a dataclass that extends
  another one documents the fields it adds, and a class without an ``__init__`` of its own has
  nothing to add to its base's;
* a function or method whose return annotation is not ``None`` has a ``Returns:`` section
  (``Yields:`` for an iterator or context manager), unless it is a property, whose summary
  says what it is.

Then every module's doctests run with `doctest`, and the main entry points must carry one, so
that their examples cannot silently vanish.
"""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import pytest
import torch

import gandiff
from gandiff import registry

# Imported by `python -m gandiff`; importing it runs the command line (and exits). It defines
# no names: `gandiff.cli` holds the code, and is checked.
NOT_IMPORTABLE = {"gandiff.__main__": "importing it runs the gandiff command line"}

# Third-party packages of the optional extras (pyproject.toml): a module that cannot import
# without one is skipped with that reason; any other import error fails.
OPTIONAL_PACKAGES = {
    "sklearn": "data",
    "mlxtend": "data",
    "datasets": "data",
    "torch_fidelity": "metrics",
    "matplotlib": "plot",
}

# The entry points a newcomer reads first: each must show a runnable example.
MUST_HAVE_EXAMPLES = [
    "gandiff.schedulers.ddpm.DDPMScheduler",
    "gandiff.schedulers.ddim.DDIMScheduler",
    "gandiff.models.unet_2d.UNet2DModel",
    "gandiff.models.dcgan.DCGANGenerator",
    "gandiff.models.mlp.MLPDenoiser",
    "gandiff.pipelines.ddpm.DDPMPipeline",
    "gandiff.pipelines.gan.GANPipeline",
    "gandiff.configuration.ConfigMixin",
    "gandiff.configuration.ConfigMixin.from_config",
    "gandiff.registry.register",
    "gandiff.data.datasets.load_dataset",
    "gandiff.metrics.mode_coverage.mode_coverage",
    "gandiff.metrics.frechet_distance.frechet_distance",
]

SECTION = re.compile(r"^(\w+(?: \w+)?):\s*$")


def module_names() -> list[str]:
    """gandiff and every module under it, found by pkgutil (nothing listed by hand)."""
    names = ["gandiff"] + [info.name for info in pkgutil.walk_packages(gandiff.__path__, "gandiff.")]
    return sorted(names)


def import_module(name: str) -> ModuleType:
    """Import a gandiff module, or skip with the reason it cannot be imported here."""
    if name in NOT_IMPORTABLE:
        pytest.skip(f"{name}: {NOT_IMPORTABLE[name]}")
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        top = (err.name or "").split(".")[0]
        if top in OPTIONAL_PACKAGES:
            pytest.skip(f"{name} needs {top}, from the optional extra gandiff[{OPTIONAL_PACKAGES[top]}]")
        raise


def public_objects() -> dict[str, object]:
    """Qualified name -> object, for every public function, class, method and property."""
    found: dict[str, object] = {}
    for module_name in module_names():
        if module_name in NOT_IMPORTABLE:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if (err.name or "").split(".")[0] in OPTIONAL_PACKAGES:
                continue  # test_doctests_pass skips this module, naming the extra
            raise
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or not _in_gandiff(obj):
                continue
            found[f"{obj.__module__}.{obj.__qualname__}"] = obj
            if inspect.isclass(obj):
                found.update(_public_members(obj))
    return found


def _in_gandiff(obj: object) -> bool:
    return (getattr(obj, "__module__", None) or "").split(".")[0] == "gandiff"


def _public_members(cls: type) -> dict[str, object]:
    """Public methods and properties of `cls`, keyed by the class that defines them."""
    members = {}
    for name in dir(cls):
        if name.startswith("_") and name != "__call__":
            continue
        owner = next((klass for klass in cls.__mro__ if name in klass.__dict__), None)
        if owner is None or not _in_gandiff(owner):
            continue
        member = owner.__dict__[name]
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if isinstance(member, property) or inspect.isfunction(member):
            members[f"{owner.__module__}.{owner.__qualname__}.{name}"] = member
    return members


def sections(doc: str) -> dict[str, str]:
    """Google-style section name -> its text (``Args``, ``Returns``, ...)."""
    found: dict[str, list[str]] = {}
    current = None
    for line in doc.splitlines():
        header = SECTION.match(line)
        if header and not line.startswith(" "):
            current = header.group(1)
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return {name: "\n".join(lines) for name, lines in found.items()}


def parameters(function) -> list[str]:
    """The parameter names a docstring must document: all but a method's ``self`` or ``cls``."""
    names = list(inspect.signature(function).parameters)
    is_method = "." in function.__qualname__.replace("<locals>.", "")
    if is_method and names and names[0] in ("self", "cls"):
        names = names[1:]
    return names


def constructor_parameters(cls: type) -> list[str]:
    """What the class docstring must document: its own ``__init__``'s parameters, or, for a
    dataclass, the fields it declares itself."""
    if dataclasses.is_dataclass(cls):
        own = inspect.get_annotations(cls)  # this class's own, not its bases'
        return [field.name for field in dataclasses.fields(cls) if field.name in own]
    if "__init__" not in cls.__dict__:
        return []
    return parameters(cls.__init__)


def returns_something(function) -> bool:
    annotation = inspect.signature(function).return_annotation
    return annotation not in (inspect.Signature.empty, None, "None")


def own_docstring(obj: object) -> str:
    """The docstring written for `obj`: not one inherited from a base class, nor the signature
    that `dataclasses` puts in ``__doc__`` when there is none."""
    doc = (obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__) or ""
    if dataclasses.is_dataclass(obj) and doc.startswith(f"{obj.__name__}("):
        return ""
    return doc.strip()


def problems(qualified_name: str, obj: object) -> list[str]:
    """What the docstring of `obj` lacks, by the rule in this module's docstring."""
    if isinstance(obj, property):
        return [] if (obj.fget.__doc__ or "").strip() else [f"{qualified_name}: no docstring"]
    doc = own_docstring(obj)
    if not doc:
        return [f"{qualified_name}: no docstring"]
    doc = inspect.cleandoc(doc)
    found = sections(doc)
    if inspect.isclass(obj):
        names = constructor_parameters(obj)
        documented = found.get("Args", "") + found.get("Attributes", "")
        section = "Args (or Attributes)"
    else:
        names = parameters(obj)
        documented = found.get("Args", "")
        section = "Args"
    missing = []
    if names and not documented:
        missing.append(f"{qualified_name}: no {section} section for {', '.join(names)}")
    elif names:
        undocumented = [name for name in names if not re.search(rf"(?<![\w.]){re.escape(name)}\b", documented)]
        if undocumented:
            missing.append(f"{qualified_name}: {section} does not name {', '.join(undocumented)}")
    if inspect.isfunction(obj) and returns_something(obj) and not ({"Returns", "Yields"} & set(found)):
        missing.append(f"{qualified_name}: no Returns section")
    return missing


PUBLIC = public_objects()


def test_every_public_name_has_a_google_style_docstring():
    assert len(PUBLIC) > 200, "the walk found too few public names; is __all__ still read?"
    missing = [problem for name, obj in sorted(PUBLIC.items()) for problem in problems(name, obj)]
    assert not missing, f"{len(missing)} docstring problems:\n" + "\n".join(missing)


def test_the_rule_catches_what_it_should():
    """The checker itself: each kind of gap is reported."""

    def no_args(x: int) -> int:
        """Summary only."""
        return x

    def partial(x: int, y: int) -> None:
        """Summary.

        Args:
            x: documented.
        """

    def complete(x: int, **kwargs) -> int:
        """Summary.

        Args:
            x: documented.
            **kwargs: documented.

        Returns:
            x.
        """
        return x

    assert problems("no_args", no_args) == ["no_args: no Args section for x", "no_args: no Returns section"]
    assert problems("partial", partial) == ["partial: Args does not name y"]
    assert problems("complete", complete) == []


# -- doctests ------------------------------------------------------------------------------------

ALL_MODULES = module_names()


def test_every_module_is_checked():
    """pkgutil finds every .py file under src/gandiff (it misses a folder without an
    ``__init__.py``), and anything not run says why, here."""
    root = Path(gandiff.__file__).parent
    on_disk = {
        ".".join(("gandiff", *path.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
        for path in root.rglob("*.py")
    }
    assert set(ALL_MODULES) == on_disk
    assert set(NOT_IMPORTABLE) <= set(ALL_MODULES)


@pytest.mark.parametrize("module_name", ALL_MODULES)
def test_doctests_pass(module_name):
    module = import_module(module_name)
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, module_name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    registered = {kind: dict(names) for kind, names in registry._registered.items()}
    plugins_loaded = registry._plugins_loaded
    rng_state = torch.random.get_rng_state()
    failures = []
    try:
        for test in sorted(tests, key=lambda t: t.name):
            runner.run(test, out=failures.append)
    finally:
        # Examples may register classes and draw random numbers: leave no trace for other tests.
        for kind, names in registered.items():
            registry._registered[kind].clear()
            registry._registered[kind].update(names)
        registry._plugins_loaded = plugins_loaded
        torch.random.set_rng_state(rng_state)
    assert not failures, "".join(failures)


def test_entry_points_carry_an_example():
    parser = doctest.DocTestParser()
    lacking = []
    for name in MUST_HAVE_EXAMPLES:
        obj = PUBLIC.get(name)
        assert obj is not None, f"{name} is not a public name any more; update MUST_HAVE_EXAMPLES"
        if not parser.get_examples(own_docstring(obj)):
            lacking.append(name)
    assert not lacking, f"these entry points have no doctest example: {', '.join(lacking)}"
