"""The model registry: builders by name, clear errors, user model files."""

from __future__ import annotations

import pytest
from torch import nn

from codeclab.errors import InputError
from codeclab.learned.registry import build_model, load_model_module, model_names, register_model


@register_model("test-registry-linear")
def linear(features: int = 4) -> nn.Module:
    return nn.Linear(features, features)


def test_a_registered_builder_is_built_by_name_with_its_arguments():
    assert "test-registry-linear" in model_names()
    model = build_model("test-registry-linear", features=3)
    assert isinstance(model, nn.Linear) and model.in_features == 3


def test_unknown_names_and_arguments_are_input_errors():
    with pytest.raises(InputError, match="unknown model 'no-such-model'; known: .*test-registry-linear"):
        build_model("no-such-model")
    with pytest.raises(InputError, match="bad arguments"):
        build_model("test-registry-linear", width=3)


def test_two_builders_cannot_share_a_name():
    def other() -> nn.Module:
        return nn.Identity()

    with pytest.raises(ValueError, match="registered twice"):
        register_model("test-registry-linear")(other)
    register_model("test-registry-linear")(linear)  # the same builder again is harmless


def test_model_files_load_once_and_register_their_models(tiny_models, tmp_path):
    assert load_model_module(tiny_models.__file__) is tiny_models
    assert {"test-tiny", "test-tiny-vr", "test-tiny-coded"} <= set(model_names())
    with pytest.raises(InputError, match="does not exist"):
        load_model_module(str(tmp_path / "missing.py"))
    with pytest.raises(InputError, match="cannot import model module"):
        load_model_module("codeclab_no_such_module")
