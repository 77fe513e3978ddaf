"""magcnn-train and magcnn-infer under mpirun against one process: data-parallel training with the same
global batch gives the same losses to 1e-6 and the same weights to float rounding (also resumed with
another number of ranks, and for an ensemble's members placed on the ranks); sharded inference writes
what one process writes, bit for bit; a rank that fails ends the run with its message and no output."""

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


def launch(command, ranks, check=True):
    """`command` alone (ranks 1) or under mpirun; with `check`, it must succeed."""
    if ranks > 1:
        command = [MPIEXEC, "-np", str(ranks), "--oversubscribe", *command]
    result = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=300)
    if check:
        assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}\n{result.stderr}"
    return result


def train(config, out, ranks, *flags):
    command = [program("magcnn-train"), "--config", str(config), "--out", str(out), "--device", "cpu", *map(str, flags)]
    return launch(command, ranks).stdout


def maps_file(path, count, seed=1):
    subprocess.run([program("magcnn-generate"), "--out", str(path), "--count", str(count), "--seed", str(seed), "--device", "cpu",
                    "--quiet"], check=True, env=ENV)


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


@pytest.mark.parametrize("ranks", [2, 3])
def test_ranks_train_as_one_process(tmp_path, config, ranks):
    alone = train(config, tmp_path / "one", 1)
    together = train(config, tmp_path / "two", ranks)
    same_run(tmp_path / "one", tmp_path / "two")
    assert f"data-parallel over {ranks} processes" in together and "data-parallel" not in alone
    # Each rank generated its share of the one process's samples (the same losses say they are those).
    assert f"each of {ranks} ranks its share" in together and "its share" not in alone
    # Rank 0 alone speaks: one line per epoch.
    assert together.count("epoch 3/3:") == 1


@pytest.mark.parametrize("ranks", [2, 3])
def test_fresh_noisy_samples_every_epoch_are_one_process_samples(tmp_path, config, ranks):
    # Every epoch each rank generates its share of that epoch's samples and draws the noise on all. At
    # the default learning rate fresh-data runs amplify rounding (1 and 2 OpenMP threads differ by 2e-5
    # after an epoch); a small one keeps the weights near their start, so that each epoch's loss is
    # that of its samples: one wrong sample would show, rounding stays at 1e-9.
    flags = ("--fresh-data", "--noise-rms", 0.05, "--noise-background", 0.1, "--lr", 1e-5)
    train(config, tmp_path / "one", 1, *flags)
    together = train(config, tmp_path / "two", ranks, *flags)
    same_run(tmp_path / "one", tmp_path / "two")
    losses = history(tmp_path / "one")[0]["train_mse"]
    assert np.abs(np.diff(losses)).min() > 1e-3 * losses.max()  # fresh samples: every epoch's loss its own
    assert f"fresh training samples every epoch), each of {ranks} ranks its share" in together


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


def infer(model, data, out, ranks, *flags, check=True):
    """`data`: one input file, or a list of them."""
    inputs = data if isinstance(data, list) else [data]
    command = [program("magcnn-infer"), "--model", str(model), "--in", *map(str, inputs), "--out", str(out), "--device", "cpu",
               *map(str, flags)]
    return launch(command, ranks, check)


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("model")
    config = tmp / "c.toml"
    config.write_text("[data]\ncount = 200\n\n[training]\nepochs = 1\n")
    train(config, tmp / "run", 1)
    return tmp / "run" / "model.h5"


@pytest.mark.parametrize("ranks", [2, 3])
def test_sharded_inference_writes_what_one_process_writes(tmp_path, small_model, ranks):
    maps_file(tmp_path / "maps.h5", 83, 5)
    infer(small_model, tmp_path / "maps.h5", tmp_path / "one.h5", 1, "--batch-size", "8")
    infer(small_model, tmp_path / "maps.h5", tmp_path / "many.h5", ranks, "--batch-size", "8")
    with h5py.File(tmp_path / "one.h5", "r") as a, h5py.File(tmp_path / "many.h5", "r") as b:
        names = []
        a.visit(lambda n: names.append(n) if isinstance(a[n], h5py.Dataset) else None)
        assert "m" in names and "residual_relative_l2" in names
        for n in names:
            np.testing.assert_array_equal(a[n][...], b[n][...], err_msg=n)
        for k, v in a.attrs.items():
            if k not in ("created", "elapsed_s", "device"):
                assert np.array_equal(b.attrs[k], v), k


def test_a_rank_that_fails_ends_the_run_with_its_message_and_no_output(tmp_path, small_model):
    # A NaN in the last map: the last rank's shard alone is bad.
    maps = np.random.default_rng(1).normal(0, 1e-3, size=(40, 32, 32)).astype(np.float32)
    maps[-1, 5, 7] = np.nan
    np.save(tmp_path / "maps.npy", maps)
    result = infer(small_model, tmp_path / "maps.npy", tmp_path / "out.h5", 2, "--unit", "T", "--pixel-size", "1e-8",
                   "--standoff", "1e-8", "--thickness", "1e-9", "--Ms", "1e6", "--batch-size", "8", check=False)
    assert result.returncode != 0
    assert "rank 1 of 2" in result.stderr and "map 39, row 5, column 7" in result.stderr, result.stderr
    assert not any(p.name.startswith("out.h5") for p in tmp_path.iterdir()), list(tmp_path.iterdir())


@pytest.mark.parametrize("unseen", ["input", "model"])
def test_a_rank_that_cannot_read_a_file_ends_the_run_through_rank_0(tmp_path, small_model, unseen):
    # Rank 1 is given a path it cannot open (a file its machine does not see): the input (it fails
    # before its first map, rank 0 after preparing its output) or the model (before anything); rank 0
    # says why and leaves no file.
    (tmp_path / "seen").mkdir()
    maps_file(tmp_path / "seen" / "maps.h5", 40)
    shutil.copy(small_model, tmp_path / "seen" / "model.h5")
    def command(folder):
        model = tmp_path / (folder if unseen == "model" else "seen") / "model.h5"
        maps = tmp_path / (folder if unseen == "input" else "seen") / "maps.h5"
        return f"{program('magcnn-infer')} --model {model} --out {tmp_path / 'out.h5'} --device cpu --batch-size 8 --in {maps}"
    script = f'if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then exec {command("unseen")}; else exec {command("seen")}; fi'
    result = launch(["sh", "-c", script], 2, check=False)
    assert result.returncode != 0
    assert "rank 1 of 2: " in result.stderr and "unseen" in result.stderr, result.stderr
    assert not any(p.name.startswith("out.h5") for p in tmp_path.iterdir()), list(tmp_path.iterdir())


@pytest.mark.parametrize("ranks", [2, 3])
def test_several_inputs_go_to_the_ranks_whole(tmp_path, small_model, ranks):
    # Five files of different sizes over the ranks: each prediction is the file's own alone, bit for bit.
    inputs = []
    for k, count in enumerate((7, 40, 3, 25, 12)):
        inputs.append(tmp_path / f"scan{k}.h5")
        maps_file(inputs[-1], count, 20 + k)
    result = infer(small_model, inputs, tmp_path / "preds", ranks)
    assert f"whole files to each of {ranks} ranks" in result.stdout and "wrote 5 predictions" in result.stdout
    for f in inputs:
        infer(small_model, [f], tmp_path / f"{f.stem}_alone.h5", 1)
        with h5py.File(tmp_path / "preds" / f.name, "r") as a, h5py.File(tmp_path / f"{f.stem}_alone.h5", "r") as b:
            for n in ("m", "residual_relative_l2", "mse_truth"):
                np.testing.assert_array_equal(a[n][...], b[n][...], err_msg=f"{f.name} {n}")


def test_a_bad_file_on_any_rank_leaves_no_prediction(tmp_path, small_model):
    # The largest file goes to rank 0, the next to rank 1: the NaN is in rank 1's file. Rank 0's good
    # prediction, finished first, is not published either.
    # Measured maps in tesla (their NaN found as the maps are read, not when the file is opened).
    rng = np.random.default_rng(2)
    for name, count in (("big.h5", 30), ("bad.h5", 20)):
        maps = rng.normal(0, 1e-3, size=(count, 32, 32)).astype(np.float32)
        if name == "bad.h5":
            maps[4, 1, 2] = np.nan
        with h5py.File(tmp_path / name, "w") as f:
            f["Bz"] = maps
            f["Bz"].attrs["unit"] = "T"
            for key, value in (("pixel_size_m", 1e-8), ("standoff_m", 1e-8), ("thickness_m", 1e-9), ("Ms_A_per_m", 1e6)):
                f.attrs[key] = value
    result = infer(small_model, [tmp_path / "big.h5", tmp_path / "bad.h5"], tmp_path / "preds", 2, check=False)
    assert result.returncode != 0
    assert "rank 1 of 2: " in result.stderr and "bad.h5" in result.stderr and "map 4, row 1, column 2" in result.stderr, \
        result.stderr
    assert not (tmp_path / "preds").exists(), list((tmp_path / "preds").iterdir())


@pytest.mark.parametrize("members, ranks", [(3, 2), (2, 3)])
def test_an_ensembles_members_are_placed_on_the_ranks(tmp_path, config, members, ranks):
    # K >= R: each rank trains its members alone; K < R: groups of ranks train a member data-parallel.
    config.write_text("[data]\ncount = 200\n\n[training]\nepochs = 2\ntarget_loss = 0.0\nbatch_size = 16\n")
    train(config, tmp_path / "one", 1, "--ensemble", members)
    out = train(config, tmp_path / "many", ranks, "--ensemble", members)
    for k in range(1, members + 1):
        same_run(tmp_path / "one" / f"member_{k}", tmp_path / "many" / f"member_{k}")
    assert out.count("ensemble: ") == 1 and f"member {members}: " in out
