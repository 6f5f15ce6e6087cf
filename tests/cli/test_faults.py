"""Fault injection for the checkpoint tool (issue 7): a conversion killed with SIGKILL at random points,
a file size limit (ulimit -f), unwritable destinations, read-only / unreadable / vanished / truncated /
rewritten input shards, and a disk-full error (ENOSPC) at every single output operation in turn, by the
FP8KIT_INJECT_WRITE_FAULT hook and by a real, tiny tmpfs. Every test checks that the input is untouched
(hash before and after) and that no finished-looking output exists afterwards: a failed run leaves the
destination as it found it; a killed run leaves only staged files (".fp8kit-partial.*", or
".fp8kit-new.*" when killed between creating one and locking it) and final-named files that are
byte-identical to an uninterrupted run's, never an index (written last) of an incomplete one. The counts
(kills, faults injected) are printed, for docs/reliability.md (pytest -s shows them)."""
import hashlib
import os
import pathlib
import resource
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import FP8KIT, run

PARTIAL = ".fp8kit-partial."  # a staged file, locked by its writer
STAGED = (PARTIAL, ".fp8kit-new.")  # and one just created, before its lock and rename
KILLS = 30
INDEX = "model.safetensors.index.json"


def tree(path):
    """{relative path: sha256} of every file under `path` (or of the file itself)."""
    if path.is_file():
        return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()}
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def partials(path, prefixes=STAGED):
    return [p for p in path.rglob("*") if p.name.startswith(prefixes)] if path.exists() else []


def generate(path, layers=4, hidden=768, intermediate=2048, vocab=2000, shard="8M"):
    run("generate", path, "--layers", layers, "--hidden", hidden, "--intermediate", intermediate, "--vocab", vocab,
        "--heads", 8, "--kv-heads", 4, "--shard-size", shard, "--quiet")


def shards(path):
    return sorted(path.glob("model-*.safetensors"))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A 55 MB, 9-shard bf16 model and its uninterrupted quantized and dequantized conversions."""
    d = tmp_path_factory.mktemp("faults")
    generate(d / "model")
    t0 = time.perf_counter()
    run("quantize", d / "model", "-o", d / "ref_q", "--quiet", "--device", "cpu")
    seconds = time.perf_counter() - t0
    run("dequantize", d / "ref_q", "-o", d / "ref_d", "--quiet", "--device", "cpu")
    return {"dir": d, "in": d / "model", "q": d / "ref_q", "d": d / "ref_d", "seconds": seconds}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A 4-shard model with a sub-directory for the every-write loops (one run per output operation)."""
    d = tmp_path_factory.mktemp("small")
    generate(d / "model", layers=2, hidden=128, intermediate=256, vocab=256, shard="150k")
    (d / "model" / "tokenizer").mkdir()
    (d / "model" / "tokenizer" / "vocab.txt").write_text("a\nb\n")
    run("quantize", d / "model", "-o", d / "ref_q", "--quiet", "--device", "cpu")
    run("dequantize", d / "ref_q", "-o", d / "ref_d", "--quiet", "--device", "cpu")
    return {"dir": d, "in": d / "model", "q": d / "ref_q", "d": d / "ref_d"}


def test_sigkill_at_random_points_then_rerun_matches(model, tmp_path, rng):
    src, ref = model["in"], tree(model["q"])
    before = tree(src)
    landed = {"before any output": 0, "while writing": 0, "while committing": 0, "after completion": 0}
    for i in range(KILLS):
        out = tmp_path / f"out{i}"
        delay = float(rng.uniform(0.0, 1.3 * model["seconds"]))
        proc = subprocess.Popen([FP8KIT, "quantize", str(src), "-o", str(out), "--quiet", "--device", "cpu"])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        rc = proc.wait(timeout=60)
        assert tree(src) == before, "the input changed"
        got = tree(out) if out.exists() else {}
        final = {k: v for k, v in got.items() if not os.path.basename(k).startswith(STAGED)}
        # Every file under its final name is complete: identical to the uninterrupted run's.
        for name, h in final.items():
            assert ref.get(name) == h, f"kill after {delay:.3f} s left a wrong {name}"
        if INDEX in final:  # the index is committed last: its presence means a complete output
            assert final == ref
            landed["after completion"] += 1
        elif final:
            landed["while committing"] += 1
        elif got:
            landed["while writing"] += 1
        else:
            landed["before any output"] += 1
        # The rerun removes the killed run's partial files (their lock is free) and completes.
        args = ["quantize", src, "-o", out, "--quiet", "--device", "cpu"] + (["--force"] if final else [])
        p = run(*args)
        assert tree(out) == ref, f"rerun after a kill at {delay:.3f} s (rc {rc}) differs from an uninterrupted run"
        assert not partials(out)
        assert "partial file" not in p.stdout or not final
    print(f"SIGKILL: {KILLS} kills over {model['seconds']:.3f} s runs: {landed}")


def test_file_size_limit_fails_cleanly(model, tmp_path):
    """ulimit -f below the size of some output shards: the write fails with EFBIG (SIGXFSZ is ignored)
    after other shards were written; the run exits 1 and removes everything."""
    src = model["in"]
    before = tree(src)
    sizes = sorted(p.stat().st_size for p in model["q"].glob("*.safetensors"))
    limit = sizes[0] + 4096  # the smaller shards fit, the larger do not

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out = tmp_path / "out"
    p = subprocess.run([FP8KIT, "quantize", str(src), "-o", str(out), "--quiet", "--device", "cpu"],
                       capture_output=True, text=True, preexec_fn=limit_file_size, timeout=120)
    assert p.returncode == 1, (p.returncode, p.stderr)  # not killed by SIGXFSZ (-25)
    assert "File too large" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert not out.exists()
    assert tree(src) == before


@pytest.fixture
def shared_dir():
    """A directory an unprivileged user can read (the tests drop root privileges where they need
    permission bits to bite)."""
    d = tempfile.mkdtemp(prefix="fp8kit-faults-")
    os.chmod(d, 0o755)
    yield d
    for root, dirs, _ in os.walk(d):
        for x in dirs:
            os.chmod(os.path.join(root, x), 0o755)
    shutil.rmtree(d)


def run_unprivileged(*args):
    """Runs fp8kit as `nobody` when this is root (root ignores permission bits), else as is."""
    def demote():
        if os.geteuid() == 0:
            os.setgid(65534)
            os.setuid(65534)
    return subprocess.run([FP8KIT, *map(str, args)], capture_output=True, text=True, preexec_fn=demote, timeout=120)


def shared_copy(src, dest):
    shutil.copytree(src, dest)
    for p in [dest, *dest.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return dest


def test_unwritable_destinations(small, shared_dir):
    base = pathlib.Path(shared_dir)
    src = shared_copy(small["in"], base / "model")
    q = shared_copy(small["q"], base / "q")
    before = tree(src), tree(q)
    locked = base / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)
    cases = [
        (["quantize", src, "-o", locked / "out"], "cannot create the output directory"),
        (["quantize", shards(src)[0], "-o", locked / "one.safetensors"], "cannot create an output file"),
        (["quantize", src, "-o", locked, "--force"], "not writable"),
        (["dequantize", q, "-o", locked / "out"], "cannot create the output directory"),
    ]
    for args, message in cases:
        p = run_unprivileged(*args, "--quiet", "--device", "cpu")
        assert p.returncode == 1 and message in p.stderr and "Permission denied" in p.stderr, (args, p.stderr)
        assert list(locked.iterdir()) == []
    assert (tree(src), tree(q)) == before


def test_read_only_and_unreadable_input_shards(small, shared_dir):
    base = pathlib.Path(shared_dir)
    src = base / "model"
    shutil.copytree(small["in"], src)
    for p in src.rglob("*"):
        os.chmod(p, 0o755 if p.is_dir() else 0o444)
    os.chmod(src, 0o555)  # read-only files in a read-only directory convert normally
    out = base / "out"
    os.chmod(base, 0o777)
    before = tree(src)
    p = run_unprivileged("quantize", src, "-o", out, "--quiet", "--device", "cpu")
    assert p.returncode == 0, p.stderr
    assert tree(out) == tree(small["q"])
    shard = shards(src)[1]
    os.chmod(src, 0o755)
    os.chmod(shard, 0o000)
    p = run_unprivileged("quantize", src, "-o", base / "out2", "--quiet", "--device", "cpu")
    assert p.returncode == 1 and shard.name in p.stderr and "Permission denied" in p.stderr, p.stderr
    assert not (base / "out2").exists()
    os.chmod(shard, 0o444)
    assert tree(src) == before


def test_vanished_or_truncated_shard_between_runs(small, tmp_path):
    src = tmp_path / "model"
    shutil.copytree(small["in"], src)
    shard = shards(src)[1]
    shard.unlink()
    before = tree(src)
    p = run("quantize", src, "-o", tmp_path / "out", check=False)
    assert p.returncode == 1 and shard.name in p.stderr and "does not exist" in p.stderr, p.stderr
    assert not (tmp_path / "out").exists() and tree(src) == before
    shutil.copy(small["in"] / shard.name, shard)
    shard.write_bytes(shard.read_bytes()[:-100])
    before = tree(src)
    p = run("quantize", src, "-o", tmp_path / "out", check=False)
    assert p.returncode == 1 and shard.name in p.stderr and "truncated" in p.stderr, p.stderr
    assert not (tmp_path / "out").exists() and tree(src) == before


def stopped_at_first_output(src, out):
    """Starts a quantize run and stops it (SIGSTOP) as soon as its first output file appears; None when
    it could not be stopped before committing its first file (a very fast or a very busy machine)."""
    proc = subprocess.Popen([FP8KIT, "quantize", str(src), "-o", str(out), "--quiet", "--device", "cpu"],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while time.time() < deadline and not partials(out) and proc.poll() is None:
        time.sleep(0.0002)
    proc.send_signal(signal.SIGSTOP)
    if proc.poll() is not None:
        proc.communicate()
        return None
    # Stopped too early (no file locked yet) or too late (a busy machine: some file already committed).
    committed = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(STAGED)] if out.exists() else []
    if not partials(out, PARTIAL) or committed:
        proc.send_signal(signal.SIGCONT)
        proc.communicate(timeout=60)
        return None
    return proc


@pytest.mark.parametrize("change", ["truncated", "rewritten in place", "removed"])
def test_input_shard_changes_during_the_run(model, tmp_path, change):
    for attempt in range(10):
        src, out = tmp_path / f"model{attempt}", tmp_path / f"out{attempt}"
        shutil.copytree(model["in"], src)
        last = shards(src)[-1]
        proc = stopped_at_first_output(src, out)
        if proc is not None:
            break
        shutil.rmtree(out)
    else:
        pytest.skip("every run finished before it could be stopped")
    if change == "truncated":
        os.truncate(last, last.stat().st_size // 2)
    elif change == "rewritten in place":
        with open(last, "r+b") as f:
            f.seek(last.stat().st_size - 64)
            f.write(b"\x11" * 64)
    else:
        last.unlink()
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=60)
    if change == "removed":  # the open descriptor still reads the original: a correct, complete output
        assert proc.returncode == 0, err
        assert tree(out) == tree(model["q"])
        return
    assert proc.returncode == 1, err
    assert last.name in err and ("unexpected end of file" in err or "changed while it was being read" in err), err
    assert not out.exists(), sorted(os.listdir(out))


def test_a_second_run_into_the_same_output_is_refused_while_the_first_writes(model, tmp_path):
    """Partial files locked by a live run are not removed: a second run into that OUT is refused, even
    with --force, and the first one then completes normally."""
    for attempt in range(10):
        out = tmp_path / f"out{attempt}"
        first = stopped_at_first_output(model["in"], out)
        if first is not None:
            break
    else:
        pytest.skip("every run finished before it could be stopped")
    p = run("quantize", model["in"], "-o", out, "--force", "--quiet", check=False)
    first.send_signal(signal.SIGCONT)
    _, err = first.communicate(timeout=60)
    assert p.returncode == 1 and "another fp8kit run is writing here" in p.stderr, p.stderr
    assert first.returncode == 0, err
    assert tree(out) == tree(model["q"])


def every_write_fails_once(args, out, src, ref, env_extra=None):
    """Runs `fp8kit args` with the N-th output operation failing (ENOSPC), N = 1, 2, ... until a run
    succeeds; checks each failed run's cleanup. Returns the number of faults injected."""
    before = tree(src)
    existed = out.exists()
    for n in range(1, 2000):
        env = dict(os.environ, FP8KIT_INJECT_WRITE_FAULT=str(n), **(env_extra or {}))
        p = subprocess.run([FP8KIT, *map(str, args)], capture_output=True, text=True, env=env, timeout=120)
        assert tree(src) == before, f"fault {n} changed the input"
        if p.returncode == 0:
            assert tree(out) == ref, f"the run that survived {n - 1} faults wrote a different output"
            return n - 1
        assert p.returncode == 1, (n, p.returncode, p.stderr)
        assert "No space left on device" in p.stderr and p.stderr.count("\n") == 1, (n, p.stderr)
        if existed:
            assert list(out.iterdir()) == [], (n, sorted(os.listdir(out)))
        else:
            assert not out.exists(), (n, sorted(str(x) for x in out.rglob("*")))
    raise AssertionError("the conversion never succeeded")


@pytest.mark.parametrize("verb", ["quantize", "dequantize"])
def test_disk_full_at_every_output_operation(small, tmp_path, verb):
    src, ref = (small["in"], small["q"]) if verb == "quantize" else (small["q"], small["d"])
    out = tmp_path / "out"
    faults = every_write_fails_once([verb, src, "-o", out, "--quiet", "--device", "cpu"], out, src, tree(ref))
    shutil.rmtree(out)
    out.mkdir()  # an existing, empty OUT stays (empty) after each failure
    faults += every_write_fails_once([verb, src, "-o", out, "--quiet", "--device", "cpu"], out, src, tree(ref))
    one = shards(src)[0]
    single_ref = tmp_path / "single_ref.safetensors"
    run(verb, one, "-o", single_ref, "--quiet", "--device", "cpu")
    single = tmp_path / "single.safetensors"
    faults += every_write_fails_once([verb, one, "-o", single, "--quiet", "--device", "cpu"], single, one,
                                     {single.name: tree(single_ref)[single_ref.name]})
    print(f"{verb}: {faults} ENOSPC faults injected, each cleaned up")
    assert faults > 20


def in_mount_namespace():
    """The unshare command that gives a private mount namespace where tmpfs can be mounted, or None."""
    for cmd in (["unshare", "--mount"], ["unshare", "--user", "--map-root-user", "--mount"]):
        try:
            p = subprocess.run([*cmd, "sh", "-c", "mount -t tmpfs -o size=64k none /mnt && echo ok"],
                               capture_output=True, text=True, timeout=20)
        except (FileNotFoundError, subprocess.TimeoutExpired):
            continue
        if p.stdout.strip() == "ok":
            return cmd
    return None


@pytest.mark.parametrize("size_kib", [64, 2048, 5000])
def test_real_disk_full_on_a_small_tmpfs(model, size_kib):
    """A real ENOSPC from a tmpfs smaller than the output (after 0, a few or most shards were written)."""
    cmd = in_mount_namespace()
    if cmd is None:
        pytest.skip("cannot mount a tmpfs here (needs root or user namespaces)")
    src = model["in"]
    before = tree(src)
    script = (f'mount -t tmpfs -o size={size_kib}k none /mnt || exit 9; '
              f'"{FP8KIT}" quantize "{src}" -o /mnt/out --quiet --device cpu; echo "rc=$?"; '
              f'find /mnt -mindepth 1; echo END')
    p = subprocess.run([*cmd, "sh", "-c", script], capture_output=True, text=True, timeout=120)
    lines = p.stdout.split("\n")
    assert lines[0] == "rc=1", (p.stdout, p.stderr)
    assert "No space left on device" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert lines[1] == "END", f"files were left behind: {p.stdout}"
    assert tree(src) == before
