"""Long calls release the GIL, stop cleanly on Ctrl-C, and leak nothing over many calls."""

import ctypes
import gc
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import magcnn
from conftest import GEOMETRY, random_magnetization

PACKAGE = str(pathlib.Path(magcnn.__file__).resolve().parents[1])


def long_forward_model(rng, maps=160, side=192):
    model = magcnn.ForwardModel((side, side), magcnn.Geometry(**GEOMETRY), device="cpu", max_batch=4)
    return model, random_magnetization(rng, (maps, side, side))


def test_another_thread_runs_during_a_long_call(rng):
    model, m = long_forward_model(rng)
    counter = [0]
    running = threading.Event()
    stop = threading.Event()

    def count():
        running.set()
        while not stop.is_set():
            counter[0] += 1

    thread = threading.Thread(target=count)
    thread.start()
    running.wait()
    # Python threads take turns every 5 ms; a call that held the GIL would let the counter move only
    # before and after it.
    start = counter[0]
    t0 = time.perf_counter()
    model(*m)
    seconds = time.perf_counter() - t0
    during = counter[0] - start
    stop.set()
    thread.join()
    assert seconds > 0.2, "the call is too short to tell"
    # A pure-Python loop counts millions a second alone; with the GIL held by the call, a few hundred at most.
    assert during > 100_000 * seconds, f"{during} counts in {seconds:.2f} s"


def run_child(code, interrupt_after_s):
    """Runs `code` in a fresh interpreter, sends it SIGINT once it says 'started', returns (rc, out, s)."""
    env = dict(os.environ, PYTHONPATH=PACKAGE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # An interpreter started in the background inherits SIGINT ignored, and keeps it so; an interactive
    # one raises KeyboardInterrupt, as the child is told to here.
    code = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n" + textwrap.dedent(code)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
    line = child.stdout.readline()
    assert line.strip() == "started", line + child.stderr.read()
    time.sleep(interrupt_after_s)
    sent = time.perf_counter()
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    return child.returncode, out + err, time.perf_counter() - sent


def test_ctrl_c_stops_a_long_forward_call():
    code = f"""
        import time, numpy as np, magcnn
        rng = np.random.default_rng(1)
        m = [rng.uniform(-0.5, 0.5, (1500, 192, 192)) for _ in range(3)]
        model = magcnn.ForwardModel((192, 192), magcnn.Geometry(**{GEOMETRY!r}), device="cpu", max_batch=4)
        print("started", flush=True)
        t0 = time.perf_counter()
        try:
            model(*m)
            print("finished: not interrupted")
        except KeyboardInterrupt as e:
            print("interrupted after %.2f s: %s" % (time.perf_counter() - t0, e))
        # The module still works afterwards.
        b = model(*(a[:1] for a in m))
        print("then", b.shape)
    """
    rc, out, after_signal_s = run_child(code, 0.5)
    assert rc == 0, out
    assert "interrupted after" in out and "interrupted by SIGINT" in out and "then (1, 192, 192)" in out, out
    assert after_signal_s < 5, f"took {after_signal_s:.1f} s to stop"


def test_ctrl_c_in_training_leaves_a_checkpoint_to_resume(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[data]\ncount = 2000\n\n[training]\nepochs = 50\ntarget_loss = 0.0\n")
    run = tmp_path / "run"
    code = f"""
        import magcnn
        def progress(event):
            if event["kind"] == "step" and event["epoch"] == 1 and not progress.said:
                progress.said = True
                print("started", flush=True)
        progress.said = False
        try:
            magcnn.train({str(config)!r}, out={str(run)!r}, device="cpu", progress=progress, quiet=True)
        except KeyboardInterrupt as e:
            print("KeyboardInterrupt:", e)
    """
    rc, out, after_signal_s = run_child(code, 0.3)
    assert rc == 0, out
    assert "checkpoint written to" in out and "continue with resume=True" in out, out
    assert after_signal_s < 10
    result = magcnn.train(str(config), out=str(run), resume=True, epochs=1, device="cpu", quiet=True)
    assert result["last_epoch"][0]["epoch"] == 1


def test_an_exception_in_the_progress_callback_stops_training(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[data]\ncount = 200\n\n[training]\nepochs = 5\ntarget_loss = 0.0\n")

    def progress(event):
        if event["kind"] == "epoch":
            raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        magcnn.train(str(config), out=str(tmp_path / "run"), device="cpu", progress=progress, quiet=True)
    assert magcnn.Model.load(str(tmp_path / "run")).epochs == 1


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def heap_bytes_in_use():
    """Bytes the C heap has handed out and not had back, over all of malloc's arenas.

    Resident memory is no measure of a leak in a process that earlier tests have filled: reusing a
    fragmented heap touches fresh pages without a byte being lost (a CI run grew 5 MB that way). What
    malloc counts as in use moves only with what is allocated and not freed."""
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("the C library has no mallinfo2 (glibc 2.33 or later) to count heap bytes with")
    libc.mallinfo2.restype = _Mallinfo2
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd


def test_no_reference_or_memory_leaks_over_10000_calls(rng):
    model = magcnn.ForwardModel((8, 8), magcnn.Geometry(**GEOMETRY), device="cpu")
    m = random_magnetization(rng, (8, 8))
    f32 = tuple(a.astype(np.float32) for a in m)  # converted on every call: the copies must go too
    for _ in range(500):
        model(*m)
        model(*f32)
    gc.collect()
    counts = [sys.getrefcount(a) for a in m + f32]
    objects = len(gc.get_objects())
    before = heap_bytes_in_use()
    for _ in range(10_000):
        b = model(*m)
        model(*f32)
    del b
    gc.collect()
    assert [sys.getrefcount(a) for a in m + f32] == counts
    assert len(gc.get_objects()) <= objects + 10
    grown = heap_bytes_in_use() - before
    # 20,000 results of 512 bytes would be 10 MB if each were kept.
    assert grown < 256 << 10, f"the heap grew by {grown / 1e3:.0f} kB"


def test_no_leaks_over_many_generator_and_forward_function_calls(rng):
    generator = magcnn.Generator(img_size=8, finer_grid=2, device="cpu")
    m = random_magnetization(rng, (8, 8))
    for _ in range(200):
        generator.next(2)
        magcnn.forward(*m, **GEOMETRY, device="cpu")
    gc.collect()
    objects = len(gc.get_objects())
    before = heap_bytes_in_use()
    for _ in range(2000):
        generator.next(2)
        magcnn.forward(*m, **GEOMETRY, device="cpu")
    gc.collect()
    assert len(gc.get_objects()) <= objects + 10
    grown = heap_bytes_in_use() - before
    # 2000 batches of two 8 x 8 samples (about 3 kB each) would be 6 MB if each were kept.
    assert grown < 256 << 10, f"the heap grew by {grown / 1e3:.0f} kB"


def test_ctrl_c_after_the_last_step_says_the_run_is_complete(tmp_path):
    # A KeyboardInterrupt inside the callback of the last epoch: nothing is left to stop, and the
    # message must not claim that nothing was written.
    config = tmp_path / "c.toml"
    config.write_text("[data]\ncount = 200\n\n[training]\nepochs = 2\ntarget_loss = 0.0\n")

    def progress(event):
        if event["kind"] == "epoch" and event["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt, match=r"training had finished: .*model.h5 and .*history.h5 hold its last epoch"):
        magcnn.train(str(config), out=str(tmp_path / "run"), device="cpu", progress=progress, quiet=True)
    assert magcnn.Model.load(str(tmp_path / "run")).epochs == 2


def test_a_callback_that_reenters_a_busy_model_is_refused_not_deadlocked(rng):
    # The same thread entering a model it is inside already (from a signal handler, say) would wait on
    # itself; it is refused. Reached here through the progress-free path: a handler run by the poll.
    model = magcnn.ForwardModel((64, 64), magcnn.Geometry(**GEOMETRY), device="cpu", max_batch=1)
    m = random_magnetization(rng, (400, 64, 64))
    small = random_magnetization(rng, (64, 64))
    seen = []

    def handler(signum, frame):
        try:
            model(*small)
        except ValueError as e:
            seen.append(str(e))

    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        threading.Timer(0.05, lambda: os.kill(os.getpid(), signal.SIGUSR1)).start()
        model(*m)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert seen and "called again from within its own call" in seen[0]


def test_an_interrupted_generator_counts_what_it_drew():
    import _thread

    generator = magcnn.Generator(device="cpu")
    # interrupt_main does nothing where SIGINT is ignored (a process started in the background): the
    # interactive handler, for this test.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Timer(0.3, _thread.interrupt_main).start()
        with pytest.raises(KeyboardInterrupt):
            generator.next(200_000)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert 0 < generator.drawn < 200_000
