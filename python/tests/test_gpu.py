"""The module on the GPU against the CPU (skipped, saying why, where no GPU works)."""

import numpy as np
import pytest

import magcnn
from conftest import GEOMETRY, random_magnetization

pytestmark = pytest.mark.skipif(not magcnn.cuda_available(), reason=f"no GPU works here: {magcnn.cuda_detail()}")


def test_forward_matches_the_cpu(rng):
    m = random_magnetization(rng, (5, 64, 48))
    cpu = magcnn.forward(*m, **GEOMETRY, device="cpu")
    gpu = magcnn.forward(*m, **GEOMETRY, device="cuda")
    assert gpu.dtype == np.float32
    # float on the GPU, double on the CPU: README, Limits.
    assert np.abs(gpu - cpu).max() < 2e-6 * np.abs(cpu).max()
    model = magcnn.ForwardModel((64, 48), magcnn.Geometry(**GEOMETRY), device="cuda", max_batch=2)
    f32 = [a.astype(np.float32) for a in m]
    assert model.reads_in_place(f32[0])
    np.testing.assert_array_equal(model(*f32), gpu)


def test_generator_matches_the_cpu():
    cpu = magcnn.Generator(count=50, seed=3, target="vector", device="cpu").next(50)
    gpu = magcnn.Generator(count=50, seed=3, target="vector", device="cuda").next(50)
    for k in ("theta", "phi", "ellipse_a"):
        np.testing.assert_array_equal(cpu[k], gpu[k])
    assert np.abs(cpu["Bz"] - gpu["Bz"]).max() < 1e-5 * np.abs(cpu["Bz"]).max()
    assert np.mean(cpu["m"] != gpu["m"]) < 1e-3  # pixels on a shape's edge may round the other way


def test_prediction_matches_the_cpu(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[data]\ncount = 200\n\n[training]\nepochs = 1\n")
    magcnn.train(str(config), out=str(tmp_path / "run"), device="cpu", quiet=True)
    model = magcnn.Model.load(str(tmp_path / "run"))
    b = magcnn.Generator(count=8, seed=9, device="cpu").next(8)["Bz"]
    cpu = model.predict(b, unit="normalized", device="cpu")
    gpu = model.predict(b, unit="normalized", device="cuda")
    assert "CUDA" in gpu["device"] or "GPU" in gpu["device"] or "NVIDIA" in gpu["device"]
    assert np.abs(cpu["m"] - gpu["m"]).max() < 1e-4
    np.testing.assert_allclose(cpu["residual_relative_l2"], gpu["residual_relative_l2"], rtol=1e-3)
