"""numpy / torch baselines for DataraxCkpt.Bench, driven by JSON lines on stdin.

Each timed command answers {"seconds": s, "peakGrowth": bytes}: the wall time of the operation alone
and how far this process's peak RSS rose above its RSS just before (peak reset via clear_refs).
"""
import gc
import json
import os
import sys
import time

try:
    import numpy as np
except ImportError:
    np = None
try:
    import torch
except Exception:  # torch may be absent or broken; the bench reports it as skipped
    torch = None


def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def timed(fn):
    gc.collect()
    reset_peak()
    before = status("VmRSS:")
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    peak = status("VmHWM:") - before
    del result
    gc.collect()
    return {"seconds": seconds, "peakGrowth": max(0, peak)}


def durable(path, write):
    with open(path, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


tensors = []
leaves = {}


def load_tensors(cmd):
    global tensors
    raw = np.fromfile(cmd["path"], dtype=np.float32)
    tensors = [a.copy() for a in np.split(raw, cmd["count"])]
    del raw
    return {}


def load_leaves(cmd):
    global leaves
    raw = np.fromfile(cmd["path"], dtype=np.float32).reshape(-1, cmd["elements"])
    leaves = {}
    for i in range(raw.shape[0]):
        leaves[f"t{i}"] = raw[i].copy()
    for i in range(cmd["scalars"]):
        leaves[f"s{i}"] = np.int64(i)
    for i in range(cmd["strings"]):
        leaves[f"n{i}"] = np.str_(f"value-{i}")
    return {}


tensors2 = []


def load_tensors2(cmd):
    global tensors2
    raw = np.fromfile(cmd["path"], dtype=np.float32)
    tensors2 = [a.copy() for a in np.split(raw, cmd["count"])]
    del raw
    return {}


def stats_of(a):
    finite = a[np.isfinite(a)]
    return {"count": int(a.size), "nan": int(np.isnan(a).sum()), "posinf": int(np.isposinf(a).sum()),
            "neginf": int(np.isneginf(a).sum()), "zero": int((a == 0).sum()),
            "min": float(np.nanmin(a)), "max": float(np.nanmax(a)), "mean": float(finite.mean(dtype=np.float64)),
            "std": float(finite.std(dtype=np.float64)), "l2": float(np.linalg.norm(finite.astype(np.float64)))}


def diff_of(a, b):
    d = np.abs(a.astype(np.float64) - b)
    return {"different": int((a != b).sum()), "max": float(d.max()), "mean": float(d.mean()),
            "relative": float(np.linalg.norm(d) / np.linalg.norm(a.astype(np.float64)))}


def np_stats(cmd):
    result = timed(lambda: [stats_of(a) for a in tensors])
    with open(os.path.join("/tmp", "dxck-bench-np-figures.json"), "w") as f:
        json.dump({"stats": stats_of(tensors[0]), "diff": diff_of(tensors[0], tensors2[0]) if tensors2 else None}, f)
    return result


def np_diff(cmd):
    return timed(lambda: [diff_of(a, b) for a, b in zip(tensors, tensors2)])


def np_save(cmd):
    d = cmd["dir"]
    os.makedirs(d, exist_ok=True)

    def run():
        for i, a in enumerate(tensors):
            durable(os.path.join(d, f"t{i}.npy"), lambda f, a=a: np.save(f, a))
    return timed(run)


def np_load(cmd):
    d = cmd["dir"]
    return timed(lambda: [np.load(os.path.join(d, f"t{i}.npy")) for i in range(len(tensors))])


def np_savez(cmd):
    return timed(lambda: durable(cmd["path"], lambda f: np.savez(f, **leaves)))


def np_load_npz(cmd):
    def run():
        with np.load(cmd["path"]) as z:
            return {k: z[k] for k in z.files}
    return timed(run)


def torch_save(cmd):
    if torch is None:
        return {}
    state = {f"t{i}": torch.from_numpy(a) for i, a in enumerate(tensors)}
    return timed(lambda: durable(cmd["path"], lambda f: torch.save(state, f)))


def torch_load(cmd):
    if torch is None:
        return {}
    return timed(lambda: torch.load(cmd["path"]))


OPS = {f.__name__: f for f in [load_tensors, load_tensors2, np_stats, np_diff, load_leaves, np_save, np_load, np_savez, np_load_npz, torch_save, torch_load]}

print(json.dumps({"numpy": np.__version__ if np else None, "torch": torch.__version__ if torch else None}), flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    try:
        if np is None:
            print(json.dumps({}), flush=True)
            continue
        print(json.dumps(OPS[cmd["op"]](cmd)), flush=True)
    except Exception as e:  # report, do not die: the bench decides what a failure means
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
