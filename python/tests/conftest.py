"""Shared fixtures: the programs of the same build (to compare the module with), fresh random inputs."""

import os
import pathlib
import subprocess

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("MAGCNN_BUILD_DIR", REPO / "build"))


def pytest_configure(config):
    # Under ctest, the module of this build, not an installed one.
    if "MAGCNN_BUILD_DIR" in os.environ:
        import magcnn

        module = pathlib.Path(magcnn.__file__).resolve()
        assert module.is_relative_to(BUILD.resolve()), f"testing {module}, not the module of {BUILD}"


def program(name):
    path = BUILD / "apps" / name
    if not path.exists():
        pytest.fail(f"{path} is missing: build the project first (cmake --build build), or set MAGCNN_BUILD_DIR")
    return str(path)


def run_program(name, *args, check=True):
    """Runs one of the build's programs on the CPU, quietly; its output on failure."""
    result = subprocess.run([program(name), *map(str, args), "--device", "cpu", "--quiet"], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{name} {' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def rng():
    """Fresh random inputs every run; the seed is printed so that a failure can be replayed."""
    seed = int(os.environ.get("MAGCNN_TEST_SEED", np.random.SeedSequence().entropy % (2**32)))
    print(f"MAGCNN_TEST_SEED={seed}")
    return np.random.default_rng(seed)


def random_magnetization(rng, shape):
    """mx, my, mz of |m| <= 1: random directions, random amplitudes, some pixels empty."""
    v = rng.normal(size=(3, *shape))
    v /= np.linalg.norm(v, axis=0)
    amplitude = rng.uniform(0, 1, size=shape) * (rng.uniform(size=shape) > 0.2)
    return tuple(v[c] * amplitude for c in range(3))


# A geometry inside every range: d/h = 2, t/h = 0.02.
GEOMETRY = dict(pixel_size_m=5e-8, standoff_m=1e-7, thickness_m=1e-9, Ms_A_per_m=8e5)


@pytest.fixture
def small_config(tmp_path):
    """A configuration of few samples, so that training takes seconds."""
    path = tmp_path / "small.toml"
    path.write_text("[data]\ncount = 300\n\n[training]\nepochs = 2\ntarget_loss = 0.0\nvalidation_fraction = 0.4\n")
    return str(path)
