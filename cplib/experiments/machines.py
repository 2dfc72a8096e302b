"""Which machine a result came from, and how far another machine moves it.

Training is deterministic on one machine only: another CPU's kernels (oneDNN picks AMX, AVX512-BF16 or AVX2 code by what
the processor has), another thread count or another precision changes the order of the sums, and a 300-step model moves
as much as with another seed. A result is therefore recorded with its machine's :class:`Signature`; a rerun on the same
signature must reproduce it, a rerun elsewhere is compared with the committed spread widened by the cross-machine spread
that ``bench/machine_spread.py`` measures by emulating other machines on this one (:data:`EMULATED`).
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ResultDrift
from ..paths import COMMITTED_RESULTS, REPO_ROOT
from ..staging import write_text
from .results import from_csv

REPRODUCE_FLOOR = (
    0.03  # AUROC: how far a rerun on the machine that made a result may land from it before it counts as drift
)

COMMITTED_SIGNATURES = COMMITTED_RESULTS / "machines.json"  # result file stem -> the signature that made it
COMMITTED_SPREAD = COMMITTED_RESULTS / "machine_spread.csv"  # written by bench/machine_spread.py

EMULATED: dict[str, dict[str, str]] = {
    "native": {},  # this machine as it is
    "threads-1": {"OMP_NUM_THREADS": "1"},  # another thread count
    "fp32": {"CPLIB_PRECISION": "fp32"},  # a CPU without native bfloat16 (most laptops, every Apple M-series)
    "avx2": {
        "ONEDNN_MAX_CPU_ISA": "AVX2"
    },  # another instruction set: oneDNN's AVX2 kernels (bfloat16 is not native there)
    "avx": {
        "ONEDNN_MAX_CPU_ISA": "AVX"
    },  # an older one, for CPUs whose best is already AVX2: no FMA, so other roundings
}
"""Other machines, emulated on this one by the environment variables that change what a real other machine changes."""

ISA_ORDER = ("avx", "avx2", "avx512f", "avx512_bf16", "amx_bf16")  # oneDNN's instruction sets, oldest first


def emulation_environment(name: str) -> dict[str, str]:
    """The variables that emulate machine `name`, with a model cache of its own (build/machines/NAME) for any but
    "native"."""
    if name not in EMULATED:
        raise ValueError(
            f"unknown machine {name!r}: use one of {', '.join(EMULATED)} (cplib.experiments.machines.EMULATED)"
        )
    own_cache = {} if name == "native" else {"CPLIB_DATA_DIR": str(REPO_ROOT / "build" / "machines" / name)}
    return {**EMULATED[name], **own_cache}


@dataclass(frozen=True)
class Signature:
    """What decides the arithmetic of a training run on the CPU: processor, the instruction set oneDNN may use, threads,
    torch, and the precision the profile picks here. Two runs with equal signatures give identical models."""

    cpu: str
    isa: str
    threads: int
    torch: str
    precision: str

    def describe(self) -> str:
        return f"{self.cpu}, {self.isa}, {self.threads} threads, torch {self.torch}, {self.precision}"


def cpu_name() -> str:
    """The processor's model name (Linux /proc/cpuinfo), else what the platform module says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip().replace(",", ";")
    except OSError:
        pass
    return platform.processor() or platform.machine()


def instruction_set() -> str:
    """The widest matrix instructions oneDNN may use here: its ONEDNN_MAX_CPU_ISA cap if set, else the CPU's best."""
    capped = os.environ.get("ONEDNN_MAX_CPU_ISA")
    return f"capped at {capped.upper()}" if capped else best_instruction_set()


def best_instruction_set() -> str:
    """The CPU's widest matrix instructions (one of ISA_ORDER), whatever cap is set; the architecture's name off x86."""
    flags = _cpu_flags()
    return next((flag for flag in reversed(ISA_ORDER) if flag in flags), platform.machine())


def emulates_nothing(name: str) -> str | None:
    """Why emulated machine `name` would run exactly as this one does here (its cap at or above this CPU's best, or fp32
    where bfloat16 is not native anyway); None when it really is another machine."""
    from ..precision import native_precision

    cap = EMULATED[name].get("ONEDNN_MAX_CPU_ISA", "").lower()
    best = best_instruction_set()
    if cap and best in ISA_ORDER and ISA_ORDER.index(cap) >= ISA_ORDER.index(best):
        return f"this CPU's best instruction set is already {best}"
    if EMULATED[name].get("CPLIB_PRECISION") == "fp32" and native_precision() == "fp32":
        return "this CPU has no native bfloat16, so it trains in fp32 already"
    return None


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.partition(":")[2].split()}


def signature(precision: str, device: str | torch.device = "cpu") -> Signature:
    """This machine's signature for a run at `precision` (a profile's, e.g. ``get_profile().precision_for(64)``) on
    `device`; on a CUDA device the GPU's name and compute capability stand for the processor and its instruction set."""
    device = torch.device(device)
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        processor, isa = torch.cuda.get_device_name(device).replace(",", ";"), f"CUDA compute {major}.{minor}"
    else:
        processor, isa = cpu_name(), instruction_set()
    return Signature(processor, isa, torch.get_num_threads(), torch.__version__, precision)


def recorded_signature(rows: Sequence[Any]) -> Signature | None:
    """The signature that result rows record (their fields cpu, isa, threads, torch and precision); None where they
    record none (rows written before rows carried one) or more than one machine made them."""
    found = {Signature(row.cpu, row.isa, row.threads, row.torch, row.precision) for row in rows}
    return found.pop() if len(found) == 1 and all(made.cpu for made in found) else None


def committed_signature(stem: str, path: Path | None = None) -> Signature | None:
    """The signature recorded for a committed result file (``table1_seeds`` for table1_seeds.csv); None if
    unrecorded."""
    path = path or COMMITTED_SIGNATURES
    if not path.is_file():
        return None
    found = json.loads(path.read_text()).get(stem)
    return Signature(**found) if found else None


def record_signature(stem: str, made_on: Signature, path: Path | None = None) -> None:
    """Record (atomically) that the result file `stem` was made on `made_on`, beside the other files' signatures."""
    path = path or COMMITTED_SIGNATURES
    recorded = json.loads(path.read_text()) if path.is_file() else {}
    recorded[stem] = asdict(made_on)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(recorded, indent=2, sort_keys=True) + "\n")


@dataclass(frozen=True)
class SpreadRow:
    """One measure of one model, trained and evaluated on one emulated machine (the signature's fields beside it), with
    the cplib version and its key (`results.row_key`); rows written before those two existed read them as empty."""

    machine: str
    model: str
    category: str
    measure: str
    value: float
    cpu: str
    isa: str
    threads: int
    precision: str
    cplib: str = ""
    key: str = ""

    def cell(self) -> tuple[str, str, str, str]:
        """What the row measured, whatever its value: a table holds one row of each (`results.study_rows`)."""
        return self.machine, self.model, self.category, self.measure


def spreads(rows: Sequence[SpreadRow]) -> dict[tuple[str, str, str], float]:
    """(model, category, measure) -> the range of its values over the machines (largest minus smallest), for each
    measured on two machines or more: one machine's value has no spread to tell."""
    values: dict[tuple[str, str, str], list[float]] = {}
    for row in rows:
        values.setdefault((row.model, row.category, row.measure), []).append(row.value)
    return {key: max(found) - min(found) for key, found in values.items() if len(found) > 1}


def largest_spread(rows: Sequence[SpreadRow], measures: Sequence[str]) -> float:
    """The largest cross-machine range of the given measures over the trained models (the random network's is
    smaller)."""
    found = [
        value
        for (model, _, name), value in spreads(rows).items()
        if name in measures and not model.startswith("random init")
    ]
    if not found:
        raise ValueError(f"no cross-machine spread of {', '.join(measures)} in these rows")
    return max(found)


def committed_spread(path: Path | None = None) -> list[SpreadRow] | None:
    """The committed cross-machine measurements (bench/machine_spread.py), or None where they are absent."""
    path = path or COMMITTED_SPREAD
    return from_csv(path.read_text(), SpreadRow) if path.is_file() else None


def cross_machine_spread(measures: Sequence[str]) -> float:
    """The committed largest cross-machine range of these measures; 0.0 where bench/machine_spread.py's results are
    absent."""
    rows = committed_spread()
    return largest_spread(rows, measures) if rows else 0.0


def check_reproduction(
    name: str,
    measured: float,
    committed: Sequence[float],
    made_on: Signature | None,
    here: Signature | None,
    cross: float,
    command: str,
) -> str:
    """A line comparing this machine's run with the committed values of the same config (one per seed).

    On the machine that made them (``made_on == here``, both recorded) the run must land within max(3 sd,
    REPRODUCE_FLOOR), else ResultDrift: the committed results are out of date. Elsewhere the tolerance is widened by
    `cross`, the measured cross-machine spread, and a run outside it is reported in the line, never raised: another
    machine is not an error.
    """
    mean, sd = float(np.mean(committed)), float(np.std(committed, ddof=1)) if len(committed) > 1 else 0.0
    values = " / ".join(f"{value:.3f}" for value in committed)
    strict = max(3 * sd, REPRODUCE_FLOOR)
    if made_on is not None and made_on == here:
        if abs(measured - mean) > strict:
            raise ResultDrift(
                f"{name}: this machine's run {measured:.3f} is outside the committed {mean:.3f} ± {strict:.3f}, "
                "which this same machine made: the committed results are out of date; "
                f"regenerate them with {command}"
            )
        return (
            f"{name}: this machine's run {measured:.3f} · committed ({values}, made on this machine): "
            f"reproduced within {strict:.3f}"
        )
    tolerance = strict + cross
    where = made_on.describe() if made_on else "a machine not recorded"
    if abs(measured - mean) <= tolerance:
        verdict = f"inside the committed spread widened by the cross-machine spread (± {tolerance:.3f})"
    else:
        verdict = (
            f"DRIFT: {measured - mean:+.3f} from their mean, beyond ± {tolerance:.3f} "
            f"(the cross-machine spread included); if it persists, regenerate them with {command}"
        )
    return f"{name}: this machine's run {measured:.3f} · committed ({values}, made on {where}) · {verdict}"


def spread_table(rows: Sequence[SpreadRow]) -> str:
    """Markdown: each model's measures on every emulated machine, and their range (the cross-machine spread)."""
    machines = list(dict.fromkeys(row.machine for row in rows))
    cells = {(row.model, row.category, row.measure, row.machine): row.value for row in rows}
    ranges = spreads(rows)
    lines = ["| model | measure | " + " | ".join(machines) + " | range |", "|---" * (len(machines) + 3) + "|"]
    for model, category, measure in dict.fromkeys((row.model, row.category, row.measure) for row in rows):
        values = [cells.get((model, category, measure, machine)) for machine in machines]
        shown = " | ".join("—" if value is None else f"{value:.3f}" for value in values)
        spread = ranges.get((model, category, measure))
        lines.append(
            f"| {category} {model} | {measure} | {shown} | "
            + ("one machine |" if spread is None else f"**{spread:.3f}** |")
        )
    return "\n".join(lines)


def machine_label(name: str) -> str:
    """How rows of emulated machine `name` run on this CPU are labelled: "threads-1 on avx2" (the CPU's best instruction
    set)."""
    return f"{name} on {best_instruction_set()}"


def emulation_of(label: str) -> str:
    """The emulated machine's name in a label of machine_label ("threads-1 on avx2" -> "threads-1")."""
    return label.partition(" on ")[0]


def machines_legend(rows: Sequence[SpreadRow]) -> str:
    """One line per machine: what it changed and its signature's instruction set, threads and precision."""
    seen: dict[str, SpreadRow] = {row.machine: row for row in rows}
    return "\n".join(
        f"- `{label}` ({_changes(EMULATED.get(emulation_of(label), {}))}): {row.isa}, {row.threads} threads, "
        f"{row.precision}"
        for label, row in seen.items()
    )


def _changes(environment: Mapping[str, str]) -> str:
    return ", ".join(f"{name}={value}" for name, value in environment.items()) or "as it is"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cplib.experiments.machines NAME``: print NAME's variables as shell assignments, for
    ``env $(...) command``."""
    import sys

    names = list(sys.argv[1:] if argv is None else argv)
    if len(names) != 1 or names[0] not in EMULATED:
        print(f"usage: python -m cplib.experiments.machines NAME, NAME one of {', '.join(EMULATED)}", file=sys.stderr)
        return 2
    same = emulates_nothing(names[0])
    if same:
        print(
            f"cplib.experiments.machines: {names[0]} emulates nothing here ({same}); "
            f"pick another: {', '.join(EMULATED)}",
            file=sys.stderr,
        )
    print(" ".join(f"{key}={value}" for key, value in emulation_environment(names[0]).items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
