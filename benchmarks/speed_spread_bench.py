"""Why one conv64 training run is slower than the next: the same run as ``pythae_bench.py``'s
keras-ae side, repeated in processes of their own, each reporting beside its images/s what the
process and the machine did while it trained.

    .venv/bin/python benchmarks/speed_spread_bench.py [--runs 10] [--steps 150]
        [--variant NAME=VALUE ...] [--spinners] [--smoke] [--json PATH]

Each run measures TensorFlow's float32 matmul rate just before and just after its timed epoch
(the machine's speed as this process sees it), and over the timed epoch the CPU seconds and
context switches of each of its threads, grouped by thread name, the scheduler's account of
its busiest threads (time runnable but waiting for a core, moves between cores), and samples
of where its threads ran (stacked on one core beside an idle one, or none runnable). If a slow
run's matmul rate is slow too, the machine was slow (throttling, a neighbour); if its matmul
rate is normal, the cause is in how the step's ops use the cores.

With ``--variant`` (environment settings, e.g. ``TF_NUM_INTEROP_THREADS=1``) runs alternate
between the default environment and the variant, ``--runs`` pairs of them, and the median
per-pair ratio variant / default is reported: a setting is only kept if it wins that way.
``--spinners`` runs the variant beside idle-priority busy loops that keep every core awake.
"""

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import harness

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
CALIBRATION_SIZE = 1024
#: What ``thread_stats`` counts per thread, and ``thread_deltas`` subtracts.
COUNTERS = ("cpu_seconds", "voluntary", "nonvoluntary", "queued_seconds", "migrations")


#: Indices in ``stat_fields``: the state letter, user and system CPU ticks, the last core.
STATE, USER_TICKS, SYSTEM_TICKS, CORE = 0, 11, 12, 36


def stat_fields(task: Path) -> list[str]:
    """The fields of a thread's ``/proc/.../stat`` after its name (which may contain spaces,
    in its parentheses)."""
    return (task / "stat").read_text().rsplit(")", 1)[1].split()


def thread_stats() -> dict[int, dict]:
    """Per thread of this process: its name, CPU seconds so far, context switches so far
    (voluntary: it waited; nonvoluntary: it was preempted) and the core it last ran on."""
    stats = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = stat_fields(task)
            status = dict(
                line.split(":\t", 1)
                for line in (task / "status").read_text().splitlines()
                if ":\t" in line
            )
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended
        stats[int(task.name)] = {
            "name": name,
            "cpu_seconds": (int(fields[USER_TICKS]) + int(fields[SYSTEM_TICKS])) / CLOCK_TICKS,
            "voluntary": int(status["voluntary_ctxt_switches"].strip()),
            "nonvoluntary": int(status["nonvoluntary_ctxt_switches"].strip()),
            "core": int(fields[CORE]),
            **scheduler_stats(task),
        }
    return stats


def scheduler_stats(task: Path) -> dict:
    """The scheduler's own account of a thread, where the kernel keeps one: seconds it spent
    runnable but waiting for a core (``queued_seconds``, from ``schedstat``) and how often it
    moved between cores (``migrations``, from ``sched``)."""
    stats = {"queued_seconds": 0.0, "migrations": 0}
    try:
        stats["queued_seconds"] = int((task / "schedstat").read_text().split()[1]) / 1e9
        for line in (task / "sched").read_text().splitlines():
            if line.startswith("se.nr_migrations"):
                stats["migrations"] = int(line.split(":")[1])
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        pass  # a kernel without scheduler statistics, or the thread ended
    return stats


class CoreSampler:
    """Samples which core each running thread of this process is on, every ``interval``
    seconds, from a thread of its own: ``stacked`` is the share of samples in which two or
    more of our threads were runnable on one core while another core ran none of them (work
    waiting beside an idle core), ``idle`` the share in which none of them was runnable."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.samples = self.stacked = self.idle = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        samples = max(self.samples, 1)
        return {
            "samples": self.samples,
            "stacked": self.stacked / samples,
            "idle": self.idle / samples,
        }

    def _run(self) -> None:
        own = threading.get_native_id()
        while not self._stop.wait(self.interval):
            running: dict[int, int] = {}
            for task in Path("/proc/self/task").iterdir():
                if int(task.name) == own:
                    continue
                try:
                    fields = stat_fields(task)
                except (FileNotFoundError, ProcessLookupError):
                    continue
                if fields[STATE] == "R":
                    core = int(fields[CORE])
                    running[core] = running.get(core, 0) + 1
            self.samples += 1
            if not running:
                self.idle += 1
            elif max(running.values()) > 1 and len(running) < len(self._cores):
                self.stacked += 1


def thread_group(name: str) -> str:
    """A thread's pool: its name without the digits that number it within the pool."""
    return name.rstrip("0123456789/_-") or name


def thread_deltas(before: dict, after: dict) -> dict[int, dict]:
    """Per thread alive at the end: its name and last core, and its CPU seconds and context
    switches between two ``thread_stats`` (from 0 for a thread started in between)."""
    deltas = {}
    for tid, end in after.items():
        start = before.get(tid, dict.fromkeys(COUNTERS, 0))
        deltas[tid] = {
            "name": end["name"],
            "core": end["core"],
            **{key: end[key] - start[key] for key in COUNTERS},
        }
    return deltas


def threads_between(deltas: dict[int, dict]) -> dict[str, dict]:
    """``thread_deltas`` summed over each thread group."""
    groups: dict[str, dict] = {}
    for tid, delta in deltas.items():
        # The main thread runs Python and dispatches the step; the rest share its name.
        name = "main thread" if tid == os.getpid() else thread_group(delta["name"])
        group = groups.setdefault(
            name,
            {"threads": 0, **dict.fromkeys(COUNTERS, 0), "cores": []},
        )
        group["threads"] += 1
        group["cores"] = sorted({*group["cores"], delta["core"]})
        for key in COUNTERS:
            group[key] += delta[key]
    return {name: group for name, group in sorted(groups.items()) if group["cpu_seconds"] > 0.005}


def matmul_gflops(repeats: int = 100) -> float:
    """TensorFlow's float32 matmul rate (GFLOP/s), the median of ``repeats`` calls (about a
    second here)."""
    run, flops = harness.matmul_seconds(CALIBRATION_SIZE)
    return flops / harness.median_seconds(run, repeats) / 1e9


#: ``--variant SPEED_SPREAD_PIN_WORKERS=1``: before the timed epoch, each of the busiest threads
#: (as many as there are cores) is pinned to a core of its own.
PIN_WORKERS = "SPEED_SPREAD_PIN_WORKERS"


def pin_busiest_threads() -> list[int]:
    """Pins the threads that have used the most CPU so far (the kernels' workers, after a
    warm-up epoch), one per core, and returns their ids; the others stay free to move."""
    cores = sorted(os.sched_getaffinity(0))
    stats = thread_stats()
    busiest = sorted(
        (tid for tid in stats if tid != os.getpid()), key=lambda tid: -stats[tid]["cpu_seconds"]
    )[: len(cores)]
    for tid, core in zip(busiest, cores, strict=False):
        os.sched_setaffinity(tid, {core})
    return busiest


def child(steps: int) -> dict:
    import keras
    from pythae_bench import keras_ae_images_per_second

    observed = {}

    class Observer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1 and os.environ.get(PIN_WORKERS) == "1":
                observed["pinned"] = pin_busiest_threads()
            if epoch == 1:
                observed["sampler"] = CoreSampler()
                observed["sampler"].start()
                observed["before"] = thread_stats()
                observed["cpu"] = time.process_time()
                observed["wall"] = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                observed["wall"] = time.perf_counter() - observed["wall"]
                observed["cpu"] = time.process_time() - observed["cpu"]
                observed["after"] = thread_stats()
                observed["cores"] = observed["sampler"].stop()

    gflops_before = matmul_gflops()
    result = keras_ae_images_per_second(steps, callbacks=(Observer(),))
    gflops_after = matmul_gflops()
    deltas = thread_deltas(observed["before"], observed["after"])
    busiest = sorted(deltas.values(), key=lambda delta: -delta["cpu_seconds"])[:4]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "images_per_second": result["images_per_second"],
        "matmul_gflops_before": gflops_before,
        "matmul_gflops_after": gflops_after,
        # The share of the cores this process kept busy over the timed epoch.
        "cpu_utilisation": observed["cpu"] / observed["wall"] / cores,
        "threads": threads_between(deltas),
        # Where the threads ran: stacked on one core beside an idle one, or none runnable.
        "core_samples": observed["cores"],
        # The four busiest threads alone: whether the work was shared or fell to one.
        "busiest_thread_seconds": [delta["cpu_seconds"] for delta in busiest],
        # The same four threads' time waiting for a core and their moves between cores.
        "busiest_threads": [
            {key: delta[key] for key in ("cpu_seconds", "queued_seconds", "migrations")}
            for delta in busiest
        ],
    }


def run_child(steps: int, environment: dict[str, str]) -> dict:
    command = [sys.executable, __file__, "--child", "--steps", str(steps)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **environment}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode:
        raise RuntimeError(f"a run failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


SPINNER = """
import os, sys
os.sched_setaffinity(0, {int(sys.argv[1])})
os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
while True:
    pass
"""


class IdleSpinners:
    """One busy loop per core at the scheduler's idle priority (``SCHED_IDLE``), for as long
    as the ``with`` block lasts: any of our threads that wakes takes its core at once, but no
    core ever halts. On a VM whose idle cores halt (this one's kernel command line sets
    ``haltpoll.guest_halt_poll_ns=0``), this tells whether the time is lost waking a halted
    core."""

    def __enter__(self):
        cores = sorted(os.sched_getaffinity(0))
        self.processes = [
            subprocess.Popen([sys.executable, "-c", SPINNER, str(core)]) for core in cores
        ]
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            process.kill()
            process.wait()


def parse_variant(settings: list[str]) -> dict[str, str]:
    variant = {}
    for setting in settings:
        name, equals, value = setting.partition("=")
        if not equals or not name:
            raise SystemExit(
                f"--variant takes NAME=VALUE, e.g. TF_NUM_INTEROP_THREADS=1; got {setting!r}"
            )
        variant[name] = value
    return variant


def _summary_rows(runs: list[dict], label: str) -> list[list]:
    rows = []
    for index, run in enumerate(runs):
        rows.append(
            [
                f"{label}{index + 1}",
                run["images_per_second"],
                run["matmul_gflops_before"],
                run["matmul_gflops_after"],
                run["cpu_utilisation"],
                run["core_samples"]["stacked"],
                run["core_samples"]["idle"],
                "; ".join(
                    f"{thread['cpu_seconds']:.1f} s, {thread['queued_seconds']:.2f} s queued, "
                    f"{thread['migrations']} moves"
                    for thread in run["busiest_threads"][:2]
                ),
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> dict:
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs (pairs with --variant)")
    parser.add_argument("--steps", type=int, default=150, help="steps per timed epoch")
    parser.add_argument("--variant", nargs="*", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--spinners",
        action="store_true",
        help="the variant runs beside idle-priority busy loops, one per core (see IdleSpinners)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child:
        print(json.dumps(child(arguments.steps)))
        return {}
    runs, steps = (1, 50) if arguments.smoke else (arguments.runs, arguments.steps)
    variant = parse_variant(arguments.variant)
    compared = bool(variant) or arguments.spinners
    results: dict = {
        "smoke": arguments.smoke,
        "steps": steps,
        "variant": variant,
        "spinners": arguments.spinners,
    }
    default_runs, variant_runs = [], []
    for index in range(runs):
        # Alternating which goes first: the machine's speed drifts over minutes.
        order = [("default", {}), ("variant", variant)] if compared else [("default", {})]
        if compared and index % 2:
            order.reverse()
        for label, environment in order:
            spinning = label == "variant" and arguments.spinners
            with IdleSpinners() if spinning else contextlib.nullcontext():
                run = run_child(steps, environment)
            (default_runs if label == "default" else variant_runs).append(run)
            print(
                f"{label} run {index + 1}: {run['images_per_second']:,.0f} images/s, matmul "
                f"{run['matmul_gflops_before']:.0f}/{run['matmul_gflops_after']:.0f} GFLOP/s",
                flush=True,
            )
    results["default"] = default_runs
    speeds = [run["images_per_second"] for run in default_runs]
    calibration = [
        (run["matmul_gflops_before"] + run["matmul_gflops_after"]) / 2 for run in default_runs
    ]
    results["median_images_per_second"] = statistics.median(speeds)
    if len(speeds) > 2:
        results["speed_vs_matmul_correlation"] = statistics.correlation(speeds, calibration)
    rows = _summary_rows(default_runs, "default ")
    if compared:
        results["variant_runs"] = variant_runs
        ratios = [
            v["images_per_second"] / d["images_per_second"]
            for v, d in zip(variant_runs, default_runs, strict=True)
        ]
        results["ratios_variant_over_default"] = ratios
        results["median_ratio"] = statistics.median(ratios)
        rows += _summary_rows(variant_runs, "variant ")
    harness.print_table(
        f"conv64 beta-VAE training, batch 64, each run its own process ({steps} timed steps)",
        [
            "run",
            "images/s",
            "matmul before",
            "after",
            "CPU use",
            "stacked",
            "idle",
            "two busiest threads",
        ],
        rows,
    )
    if "speed_vs_matmul_correlation" in results:
        print(
            "correlation of images/s with the matmul rate: "
            f"{results['speed_vs_matmul_correlation']:.2f}"
        )
    if compared:
        print(f"median variant / default over {runs} pairs: {results['median_ratio']:.3f}")
    harness.write_json(results, arguments.json, "speed_spread_bench")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
