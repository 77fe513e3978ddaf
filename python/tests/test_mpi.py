"""Data-parallel training over MPI (magcnn-train under mpirun) against one process with the same global
batch: the same losses to 1e-6 and the same weights to float rounding; resuming across rank counts."""

import os
import shutil
import subprocess

import h5py
import numpy as np
import pytest

from conftest import program

MPIEXEC = os.environ.get("MAGCNN_MPIEXEC", "")
pytestmark = pytest.mark.skipif(not MPIEXEC or shutil.which(MPIEXEC) is None,
                                reason="this build has no MPI (Debian: apt-get install libopenmpi-dev openmpi-bin)")

# One thread a rank: two ranks of two OpenMP threads each on two cores spin against each other.
ENV = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")


def train(config, out, ranks, *flags):
    command = [program("magcnn-train"), "--config", str(config), "--out", str(out), "--device", "cpu", *map(str, flags)]
    if ranks > 1:
        command = [MPIEXEC, "-np", str(ranks), "--oversubscribe", *command]
    result = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=300)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def history(run):
    with h5py.File(run / "model.h5", "r") as f:
        return {k: f["history/" + k][...] for k in ("train_mse", "validation_mse")}, \
               {n: f["weights/" + n][...] for n in f["weights"]}


def same_run(a, b):
    (ha, wa), (hb, wb) = history(a), history(b)
    for k in ha:
        assert ha[k].shape == hb[k].shape
        np.testing.assert_allclose(ha[k], hb[k], rtol=1e-6, atol=0, err_msg=k)
    for n in wa:
        scale = np.abs(wa[n]).max()
        assert np.abs(wa[n] - wb[n]).max() <= 1e-4 * scale, n


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "c.toml"
    # 245 training maps: 7 full batches of 32 and a tail of 21, split 10 and 11 over two ranks.
    path.write_text("[data]\ncount = 408\n\n[training]\nepochs = 3\ntarget_loss = 0.0\nbatch_size = 32\n")
    return path


def test_two_ranks_train_as_one_process(tmp_path, config):
    alone = train(config, tmp_path / "one", 1)
    together = train(config, tmp_path / "two", 2)
    same_run(tmp_path / "one", tmp_path / "two")
    assert "data-parallel over 2 processes" in together and "data-parallel" not in alone
    # Rank 0 alone speaks: one line per epoch.
    assert together.count("epoch 3/3:") == 1


def test_more_ranks_than_a_batch_holds(tmp_path, config):
    # Batch 1 over two ranks: one of them has an empty share of every step, and adds nothing.
    config.write_text("[data]\ncount = 60\n\n[training]\nepochs = 1\ntarget_loss = 0.0\nbatch_size = 1\n")
    train(config, tmp_path / "one", 1)
    train(config, tmp_path / "two", 2)
    same_run(tmp_path / "one", tmp_path / "two")


@pytest.mark.parametrize("first, then", [(1, 2), (2, 1)])
def test_resume_with_another_number_of_ranks(tmp_path, config, first, then):
    train(config, tmp_path / "whole", 1)
    train(config, tmp_path / "split", first, "--epochs", 1)
    train(config, tmp_path / "split", then, "--resume", "--epochs", 3)
    same_run(tmp_path / "whole", tmp_path / "split")
