"""`python -m tests.mutation [module ...] [--workers N]`: mutation-test the translation layer and score each module.

mutmut names a mutant after its file's path, and the tests import the layer as `gptoss`, so mutmut runs in a staging
tree (`.mutmut/`, rebuilt on every run) where the layer is the top-level `gptoss/` beside a copy of `tests/`; its
settings are `[tool.mutmut]` in pyproject.toml. mutmut forks each mutant's test run from a process that already
imported the layer, so a mutant in code that runs at import (the request contract's compiled checks, the model
alias table) cannot fail there: each survivor of that first pass in a function the import runs is tested again by
its module's unit tests (tests/unit/test_<module>.py) in a fresh process that imports the layer with the mutant
active.

`--again` keeps the last run's results and tests only what did not die there (its survivors and the mutants it never
reached) against the current tests: the quick loop while writing tests for a module whose code has not changed since.

A module's score counts killed mutants (a test failed or timed out) over all its mutants except the reviewed
equivalent ones in tests/mutation/equivalents.txt. It exits non-zero when a module scores under the threshold or an
entry in that list no longer matches a surviving mutant.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "lambdas" / "shared" / "python" / "gptoss"
STAGING = ROOT / ".mutmut"
EQUIVALENTS = Path(__file__).with_name("equivalents.txt")
THRESHOLD = 90.0
KILLED = {"killed", "timeout", "segfault", "caught by type check"}


@dataclass(frozen=True)
class Equivalent:
    mutant: str
    mutated_code: str
    reason: str


@dataclass
class Score:
    statuses: Counter[str] = field(default_factory=Counter)
    equivalent: int = 0
    survivors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def killed(self) -> int:
        return sum(count for status, count in self.statuses.items() if status in KILLED)

    @property
    def percent(self) -> float:
        counted = self.total - self.equivalent
        return 100.0 if counted == 0 else 100.0 * self.killed / counted


def load_equivalents(path: Path = EQUIVALENTS) -> dict[str, Equivalent]:
    """One entry a line: `mutant name | mutated code (a `+` line of `mutmut show`) | why no test can tell`."""
    entries: dict[str, Equivalent] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        mutant, _, rest = line.partition("|")
        code, _, reason = rest.rpartition("|")  # the code may hold `|` (a union type), the reason does not
        parts = [part.strip() for part in (mutant, code, reason)]
        if not all(parts):
            raise SystemExit(f"{path.name}:{number}: expected `mutant | mutated code | reason`")
        entries[parts[0]] = Equivalent(*parts)
    return entries


IGNORED = shutil.ignore_patterns("__pycache__", ".hypothesis", ".pytest_cache")


def stage() -> None:
    """A fresh staging tree, so every score comes from this run against the current tests."""
    shutil.rmtree(STAGING, ignore_errors=True)
    restage()


def restage() -> None:
    """The current layer, tests and what they read, over the staging tree's copies (mutmut mutates the changed
    functions afresh and forgets their results; `--again` first checks that the modules it scores did not change)."""
    shutil.copytree(LAYER, STAGING / "gptoss", ignore=IGNORED, dirs_exist_ok=True)
    for tree in ("tests", "bench"):  # unit tests import bench's record shapes
        shutil.rmtree(STAGING / tree, ignore_errors=True)
        shutil.copytree(ROOT / tree, STAGING / tree, ignore=IGNORED)
    for name in ("pyproject.toml", "README.md", "lambdas/shared/openapi.yaml"):  # what the unit tests read
        (STAGING / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, STAGING / name)


def run_mutmut(names: list[str], workers: int) -> None:
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(workers), *names]
    if subprocess.run(command, cwd=STAGING, check=False).returncode:
        raise SystemExit("mutmut failed (its output is above)")


def changed_since_staged(modules: list[str]) -> list[str]:
    """The modules whose code differs from the staging tree's copy (or that it lacks), whose results are stale."""
    return [
        module
        for module in modules
        if not (STAGING / "gptoss" / f"{module}.py").exists()
        or (STAGING / "gptoss" / f"{module}.py").read_bytes() != (LAYER / f"{module}.py").read_bytes()
    ]


def not_killed(modules: list[str]) -> list[str]:
    """The mutants of these modules that the last run left alive or never tested."""
    from mutmut.stats import status_by_exit_code

    return [
        mutant
        for module, codes in results().items()
        if module in modules
        for mutant, code in codes.items()
        if code is None or status_by_exit_code[code] not in KILLED
    ]


IMPORT_LAYER = """
import importlib, pkgutil, gptoss
from mutmut.state import state
for module in pkgutil.iter_modules(gptoss.__path__):
    importlib.import_module(f"gptoss.{module.name}")
print("\\n".join(state()._stats))
"""


def import_time_functions() -> set[str]:
    """The layer's functions that run while it is imported (mutmut's name for each, as in a mutant's name): only a
    fresh process sees a mutant there. mutmut's trampolines record every call in its "stats" mode."""
    command = [sys.executable, "-c", IMPORT_LAYER]
    environment = {**os.environ, "MUTANT_UNDER_TEST": "stats"}
    run = subprocess.run(command, cwd=STAGING / "mutants", env=environment, capture_output=True, text=True, check=True)
    return set(run.stdout.split())


def at_import(mutants: list[str]) -> list[str]:
    """The mutants in functions the import of the layer runs."""
    from mutmut.utils.format_utils import mangled_name_from_mutant_name

    functions = import_time_functions()
    return [mutant for mutant in mutants if mangled_name_from_mutant_name(mutant) in functions]


def killed_afresh(mutant: str) -> bool:
    """Whether the module's own unit tests fail with the mutant active from the first import of the layer."""
    module = mutant.split(".")[1]
    own_tests = Path("tests", "unit", f"test_{module}.py")
    selection = own_tests if (STAGING / "mutants" / own_tests).exists() else Path("tests", "unit")
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--rootdir=.", str(selection)]
    environment = {**os.environ, "MUTANT_UNDER_TEST": mutant}
    run = subprocess.run(command, cwd=STAGING / "mutants", env=environment, capture_output=True, check=False)
    return run.returncode not in (0, 5)  # 5: nothing collected


def results() -> dict[str, dict[str, int | None]]:
    """Exit code by mutant name, by module."""
    return {
        meta.name.removesuffix(".py.meta"): json.loads(meta.read_text())["exit_code_by_key"]
        for meta in sorted((STAGING / "mutants" / "gptoss").glob("*.py.meta"))
    }


def survivors(modules: list[str]) -> list[str]:
    from mutmut.stats import status_by_exit_code

    return [
        mutant
        for module, codes in results().items()
        if not modules or module in modules
        for mutant, code in codes.items()
        if status_by_exit_code[code] == "survived"
    ]


def mutated_lines(mutant: str) -> set[str]:
    """The lines the mutant adds, whitespace-collapsed (reads the staging tree, so run from inside it)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    return {
        " ".join(line[1:].split())
        for line in get_diff_for_mutant(mutant).splitlines()
        if line.startswith("+") and not line.startswith("+++") and "__mutmut_" not in line
    }


def score(
    modules: list[str], equivalents: dict[str, Equivalent], killed_later: set[str]
) -> tuple[dict[str, Score], list[str]]:
    from mutmut.stats import status_by_exit_code

    scores: dict[str, Score] = {}
    problems: list[str] = []
    seen: set[str] = set()
    for module, codes in results().items():
        if modules and module not in modules:
            continue
        result = scores.setdefault(module, Score())
        for mutant, exit_code in codes.items():
            status = "killed" if mutant in killed_later else status_by_exit_code[exit_code]
            result.statuses[status] += 1
            listed = equivalents.get(mutant)
            if listed:
                seen.add(mutant)
            if status in KILLED:
                if listed:
                    problems.append(f"{mutant} is listed as equivalent but a test kills it")
            elif listed and " ".join(listed.mutated_code.split()) in mutated_lines(mutant):
                result.equivalent += 1
            elif listed:
                problems.append(f"{mutant} no longer makes the listed change `{listed.mutated_code}`")
                result.survivors.append(mutant)
            else:
                result.survivors.append(mutant)
    wanted = {f"gptoss.{module}." for module in scores}
    problems += [
        f"{name} is listed as equivalent but no longer exists"
        for name in equivalents
        if name not in seen and any(name.startswith(prefix) for prefix in wanted)
    ]
    return scores, problems


def report(scores: dict[str, Score]) -> bool:
    print(f"\n{'module':<18} {'mutants':>7} {'killed':>7} {'survived':>8} {'no tests':>8} {'equiv.':>6} {'score':>7}")
    passed = True
    for module, result in scores.items():
        if not result.total:  # a module with nothing to mutate (the package's __init__)
            continue
        passed &= result.percent >= THRESHOLD
        print(
            f"{module:<18} {result.total:>7} {result.killed:>7} {result.statuses['survived']:>8} "
            f"{result.statuses['no tests']:>8} {result.equivalent:>6} {result.percent:>6.1f}%"
        )
    survivors = [mutant for result in scores.values() for mutant in result.survivors]
    if survivors:
        print(f"\n{len(survivors)} surviving mutant(s) (`cd .mutmut && mutmut show NAME` for a diff):")
        for mutant in survivors:
            print(f"  {mutant}")
    return passed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="modules of gptoss to test (default: all)")
    parser.add_argument("--workers", type=int, default=2, help="mutants tested at once (default: 2)")
    parser.add_argument(
        "--again",
        action="store_true",
        help="keep the last run's results; test its survivors and untested mutants against the current tests",
    )
    args = parser.parse_args(argv)
    known = sorted(path.stem for path in LAYER.glob("*.py") if path.stem != "__init__")
    unknown = sorted(set(args.modules) - set(known))
    if unknown:
        print(f"unknown module(s): {', '.join(unknown)}; available: {', '.join(known)}", file=sys.stderr)
        return 2
    equivalents = load_equivalents()
    if args.again:
        if not args.modules:
            print("--again needs the modules to test again", file=sys.stderr)
            return 2
        changed = changed_since_staged(args.modules)
        if changed:
            print(f"code changed since the last run: {', '.join(changed)}; run them in full", file=sys.stderr)
            return 2
        restage()
        again = not_killed(args.modules)
        if again:
            run_mutmut(again, args.workers)
    else:
        stage()
        run_mutmut([f"gptoss.{module}.*" for module in args.modules], args.workers)
    second_pass = at_import(survivors(args.modules))
    print(f"\nTesting the {len(second_pass)} survivors in code run at import again, in a process importing it afresh")
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        killed_later = {
            mutant for mutant, killed in zip(second_pass, pool.map(killed_afresh, second_pass), strict=True) if killed
        }
    os.chdir(STAGING)
    scores, problems = score(args.modules, equivalents, killed_later)
    passed = report(scores)
    for problem in problems:
        print(f"equivalents.txt: {problem}", file=sys.stderr)
    return 0 if passed and not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
