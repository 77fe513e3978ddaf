"""magcnn.Generator against magcnn-generate: the same samples for the same settings."""

import h5py
import numpy as np
import pytest

import magcnn
from conftest import run_program

KEYS = ["m", "theta", "phi", "ellipse_a", "ellipse_b", "ellipse_tilt", "ellipse_xc", "ellipse_yc"]


@pytest.mark.parametrize(
    "flags, keys",
    [
        ([], {}),
        (["--target", "vector", "--img-size", "16", "--noise-rms", "0.05"], dict(target="vector", img_size=16, noise_rms=0.05)),
        (["--field-axis", "54.7356,45", "--target", "polar", "--noise-tesla", "1e-6", "--noise-Ms", "8e5"],
         dict(field_axis="54.7356,45", target="polar", noise_tesla=1e-6, noise_Ms_A_per_m=8e5)),
    ],
)
def test_equals_the_program(tmp_path, rng, flags, keys):
    seed = int(rng.integers(0, 2**63))
    count = 37
    run_program("magcnn-generate", "--out", tmp_path / "set.h5", "--count", count, "--seed", seed, *flags)
    generator = magcnn.Generator(count=count, seed=seed, device="cpu", **keys)
    # However the samples are split into calls, they are the program's.
    parts = [generator.next(n) for n in (1, 16, 20)]
    batch = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    assert generator.drawn == count
    with h5py.File(tmp_path / "set.h5", "r") as f:
        field = generator.field_name
        assert field in f and field in batch
        np.testing.assert_array_equal(batch[field], f[field][...])
        for k in KEYS:
            np.testing.assert_array_equal(batch[k], f[k][...], err_msg=k)
    assert batch[field].dtype == np.float32 and batch["theta"].dtype == np.float64
    assert np.abs(batch[field]).max() > 0 and batch["m"].max() > 0


def test_shapes_settings_and_restart():
    g = magcnn.Generator(dict(img_size=16, target="vector"), seed=4, device="cpu")
    assert g.settings.img_size == 16 and g.settings.target == "vector" and g.settings.seed == 4
    first = g.next(3)
    assert first["Bz"].shape == (3, 16, 16) and first["m"].shape == (3, 3, 16, 16) and first["theta"].shape == (3,)
    # m is the shape times the direction: |m| <= 1, and each map's direction is (theta, phi).
    norm = np.linalg.norm(first["m"], axis=1)
    assert norm.max() <= 1 + 1e-6
    g.restart(4)
    again = g.next(3)
    for k in first:
        np.testing.assert_array_equal(first[k], again[k])
    settings = magcnn.GeneratorSettings(seed=9, count=12)
    assert magcnn.Generator(settings, device="cpu").settings.seed == 9


def test_configuration_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[data]\nimg_size = 8\nseed = 3\n")
    g = magcnn.Generator(str(path), device="cpu", seed=5)
    assert g.settings.img_size == 8 and g.settings.seed == 5  # keys over the file
    assert g.next(2)["Bz"].shape == (2, 8, 8)
