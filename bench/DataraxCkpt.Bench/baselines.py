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


OPS = {f.__name__: f for f in [load_tensors, load_leaves, np_save, np_load, np_savez, np_load_npz, torch_save, torch_load]}

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
