"""The model as a PuLP problem: every solver PuLP can run, and the ``.lp`` / ``.mps`` files for audit.

How PuLP and HiGHS share the work
---------------------------------
:mod:`procure.formulation` builds the model once, as a sparse matrix with key
arrays (no names, no per-variable objects). Two roads lead from that matrix to a
solver:

- **HiGHS (the default) gets the matrix in one** ``passModel`` **call**, in
  process. Nothing is named and nothing is written to disk: at national scale
  (160,000 variables) building one PuLP object per variable and per row costs
  seconds before any solver starts, so the default road skips it.
- **PuLP carries the same matrix to every other solver** (CBC, GLPK, SCIP,
  Gurobi, CPLEX, Xpress, COPT, MOSEK, cuOpt...: whatever ``procure solvers``
  lists on this machine) **and writes the audit files.** Agencies often hold a
  licence for a commercial solver and expect to use it; PuLP knows how to drive
  each one, so procure does not have to. Every solver run happens in a private
  temporary folder with deterministic settings (one thread, fixed seeds where the
  solver has them), and the answer is read back by column and row position, then
  verified by procure exactly as a HiGHS answer is.

``procure export WORKBOOK -o model.lp`` (or ``.mps``) writes the PuLP model with
readable names built from the keys, e.g. ``buy(Gallium,Lynas_Malaysia,2027,r12)``
(mineral, supplier, period, and the row of the offer in the Offers sheet),
``sign(Gallium,Lynas_Malaysia,r12)``, ``china_cap(Gallium,2027)``,
``slack(china_cap(Gallium,2027))``. The file can be read by any solver or
modelling tool that reads LP or MPS; read back into HiGHS it gives the optimum
``procure solve`` reports.

Names. The LP format reserves ``[ ] + - * / ^ : < > =`` and spaces (HiGHS reads
``[`` as the start of a quadratic term; PuLP itself rewrites ``- + [ ]`` and
spaces in row names to ``_``), and many readers stop at 100 or 255 characters or
choke on non-ASCII text. So brackets are written as parentheses; accents are
dropped (``Côte d'Ivoire`` -> ``Cote_d_Ivoire``); every run of other characters outside
``A-Z a-z 0-9 _ . ,`` becomes ``_``; in a name that would be longer than 100
characters the longest labels are cut, each ending in 8 hex digits of its full
text's SHA-256, so the period and the Offers row stay readable. Two keys that still end up with
the same name (``Lynas Malaysia`` and ``Lynas-Malaysia``) keep it in model order
for the first and get ``~2``, ``~3``... for the others (``~`` is never produced
from a label, so a suffixed name never collides with another).

The objective constant (the fixed cost of agreements already signed) is written
as a column ``objective_constant`` fixed at 1 whose cost is the constant: PuLP
writes neither an LP objective constant nor an MPS objective-row RHS, and
readers disagree on both (GLPK 5.0 rejects a constant in an LP objective and
reads an objective-row RHS with the opposite sign to HiGHS, CPLEX and Gurobi).
A fixed column means the same objective to every reader.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import math
import re
import shutil
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from procure.errors import OutputError, ProcureError, SolverError
from procure.files import atomic_write
from procure.paths import check_paths
from procure.program import LinearProgram
from procure.result import RawKind, RawResult, quiet_stdout

# ---------------------------------------------------------------------------------------------------------
# Readable names
# ---------------------------------------------------------------------------------------------------------

#: Column block name -> the word its variables are called in exported files (row blocks keep their own name).
READABLE_PREFIX = {
    "x": "buy",
    "y": "sign",
    "shortfall": "shortfall",
    "reserve": "reserve",
    "reserve_gap": "reserve_gap",
    "total": "purchases_total",
    "slack": "slack",
}
#: Row-block keys that are data, not identity: never part of a name.
MAX_NAME_LENGTH = 100  # PuLP's writeLP refuses longer variable names
CONSTANT_COLUMN = "objective_constant"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.,()]+")  # what survives PuLP's rules and every LP reader tried


def safe_label(text: object) -> str:
    """``text`` as LP-safe ASCII: accents dropped, each run of anything outside ``A-Za-z0-9_.,()`` as one ``_``."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    return _UNSAFE.sub("_", ascii_text.strip())


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _fit(name: str) -> str:
    """Cut a long name to MAX_NAME_LENGTH, ending in a digest of the whole so that cut names stay distinct."""
    if len(name) <= MAX_NAME_LENGTH:
        return name
    return name[:MAX_NAME_LENGTH - 9] + "_" + _digest(name)


def _bracket(prefix: str, parts: list[str]) -> str:
    """``prefix(part,part,...)`` within MAX_NAME_LENGTH: the longest labels are cut first (each ending in a
    digest of its full text), so the short ones (period, Offers row) always stay readable."""
    if not parts:
        return _fit(prefix)
    name = f"{prefix}({','.join(parts)})"
    if len(name) <= MAX_NAME_LENGTH:
        return name
    length = len(prefix) + 2 + sum(map(len, parts)) + len(parts) - 1
    while length > MAX_NAME_LENGTH:
        longest = max(range(len(parts)), key=lambda k: len(parts[k]))
        part = parts[longest]
        keep = max(len(part) - (length - MAX_NAME_LENGTH), 12)
        if keep >= len(part):
            break  # nothing left to cut usefully
        parts[longest] = part[:keep - 9] + "_" + _digest(part)
        length -= len(part) - len(parts[longest])
    return _fit(f"{prefix}({','.join(parts)})")


def unique_names(names: list[str]) -> list[str]:
    """Make ``names`` unique, in order: the first keeps its name, later duplicates get ``~2``, ``~3``..."""
    seen: set[str] = set()
    result = []
    for name in names:
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            suffix = f"~{n}"
            candidate = name[:MAX_NAME_LENGTH - len(suffix)] + suffix
        seen.add(candidate)
        result.append(candidate)
    return result


class _Labeller:
    """Display labels of the key values of an instance (mineral, period, country, supplier, offer)."""

    def __init__(self, inst):
        self.inst = inst
        if inst is None:
            return
        names = inst.data.names
        self.labels = {
            "mineral": np.array([safe_label(names.mineral(k)) for k in inst.mineral_keys], dtype=object),
            "period": np.array([safe_label(p) for p in inst.periods], dtype=object),
            "country": np.array([safe_label(names.country(k)) for k in inst.country_keys], dtype=object),
            "supplier": np.array([safe_label(names.supplier(k)) for k in inst.supplier_keys], dtype=object),
        }
        self.offer_row = np.array([f"r{offer.row}" for offer in inst.offers], dtype=object)

    def columns(self, keys: dict[str, np.ndarray], row_names: list[str] | None) -> list[np.ndarray]:
        """One array of labels per part of the names of a block's members, in order.

        An offer expands to its mineral and supplier, its Offers row going last
        (``buy(Gallium,Lynas,2027,r12)``); without an instance a key shows as key + index.
        """
        parts, tail = [], []
        for key, values in keys.items():
            values = np.asarray(values)
            if key == "row" and row_names is not None:
                parts.append(np.array(row_names, dtype=object)[values.astype(np.int64)])
            elif self.inst is None or key not in (*self.labels, "offer"):
                prefix = safe_label(key)
                parts.append(np.array([f"{prefix}{safe_label(v)}" for v in values.tolist()], dtype=object))
            elif key == "offer":
                o = values.astype(np.int64)
                parts.append(self.labels["mineral"][self.inst.offer_mineral[o]])
                parts.append(self.labels["supplier"][self.inst.offer_supplier[o]])
                tail.append(self.offer_row[o])
            else:
                parts.append(self.labels[key][values.astype(np.int64)])
        return parts + tail


def _block_names(prefix: str, columns: list[np.ndarray], size: int) -> list[str]:
    if not columns:
        return [_fit(prefix)] * size
    return [_bracket(prefix, list(parts)) for parts in zip(*columns)]


def readable_names(lp: LinearProgram, inst=None) -> tuple[list[str], list[str]]:
    """Unique PuLP-safe names of every column and row of ``lp``, in position order.

    With ``inst`` (the :class:`~procure.instance.Instance` the program was built
    from) keys are shown as the workbook spells them; without it (any other
    LinearProgram, e.g. a stochastic extensive form) as ``key`` + index.
    """
    labeller = _Labeller(inst)
    row_names = [""] * lp.n_rows
    for block in lp.rows.values():
        row_names[block.start:block.stop] = _block_names(safe_label(block.name), labeller.columns(block.keys, None),
                                                         block.size)
    row_names = unique_names(row_names)
    col_names = [""] * lp.n_cols
    for block in lp.columns.values():
        prefix = READABLE_PREFIX.get(block.name, safe_label(block.name))
        col_names[block.start:block.stop] = _block_names(prefix, labeller.columns(block.keys, row_names), block.size)
    return unique_names(col_names), row_names


def generic_names(lp: LinearProgram) -> tuple[list[str], list[str]]:
    """Short unique names (``x_12``, ``balance_3``) for solving, where nobody reads them."""
    def of(blocks, n):
        names = [""] * n
        for block in blocks.values():
            prefix = safe_label(block.name)
            for i in range(block.size):
                names[block.start + i] = f"{prefix}_{i}"
        return unique_names(names)
    return of(lp.columns, lp.n_cols), of(lp.rows, lp.n_rows)


# ---------------------------------------------------------------------------------------------------------
# The PuLP problem
# ---------------------------------------------------------------------------------------------------------

@dataclass
class PulpModel:
    """A PuLP problem of a LinearProgram: ``variables[j]`` is column j, ``constraints[i]`` row i."""

    problem: object  # pulp.LpProblem
    variables: list
    constraints: list
    constant_variable: object | None = None


def to_pulp(lp: LinearProgram, names: tuple[list[str], list[str]] | None = None, *,
            constant_column: bool = False, title: str = "procure") -> PulpModel:
    """The PuLP problem of ``lp``: ``min c x + constant`` subject to its rows and bounds, in position order.

    ``names`` = (column names, row names), by default :func:`generic_names`.
    With ``constant_column`` the objective constant becomes a column fixed at 1
    (for files: see the module docstring); without it the constant is kept as
    PuLP's objective constant, which solvers never see (procure evaluates the
    objective itself).
    """
    import pulp

    col_names, row_names = names if names is not None else generic_names(lp)
    prob = pulp.LpProblem(safe_label(title) or "procure", pulp.LpMinimize)
    # one batch of nonnegative continuous columns, in column order; then only the bounds and types that differ
    created = prob.add_variable_dict("%s", (col_names,), lowBound=0.0, upBound=None, cat=pulp.LpContinuous)
    variables = [created[name] for name in col_names]
    for j in np.flatnonzero(lp.col_lower != 0):
        variables[j].lowBound = float(lp.col_lower[j]) if np.isfinite(lp.col_lower[j]) else None
    for j in np.flatnonzero(np.isfinite(lp.col_upper)):
        variables[j].upBound = float(lp.col_upper[j])
    for j in np.flatnonzero(lp.col_integer):
        variables[j].cat = pulp.LpInteger
    ids = np.array([v.id for v in variables], dtype=np.uint64)
    expression = _expression_builder(prob, variables, ids)
    cost_columns = np.flatnonzero(lp.col_cost)
    objective = expression(cost_columns, lp.col_cost[cost_columns])
    constant_variable = None
    if constant_column and lp.objective_constant != 0:
        constant_variable = prob.add_variable(CONSTANT_COLUMN, lowBound=1.0, upBound=1.0)
        objective = objective + float(lp.objective_constant) * constant_variable
    elif lp.objective_constant != 0:
        objective = objective + float(lp.objective_constant)
    prob.setObjective(objective)
    constraints = []
    for i in range(lp.n_rows):
        span = slice(lp.a_start[i], lp.a_start[i + 1])
        expr = expression(lp.a_index[span], lp.a_value[span])
        lower, upper = lp.row_lower[i], lp.row_upper[i]
        if lower == upper:
            relation = expr == float(lower)
        elif np.isfinite(upper) and not np.isfinite(lower):
            relation = expr <= float(upper)
        elif np.isfinite(lower) and not np.isfinite(upper):
            relation = expr >= float(lower)
        else:  # formulation never builds ranged or free rows; one PuLP row could not hold them
            raise ValueError(f"row {row_names[i]} has bounds [{lower}, {upper}]: not one PuLP constraint")
        constraints.append(prob.addConstraint(relation, row_names[i]))
    return PulpModel(prob, variables, constraints, constant_variable)


def _expression_builder(prob, variables, ids):
    """``build(columns, values)`` -> the PuLP expression ``sum values[k] x[columns[k]]``.

    PuLP 4's Rust core takes a whole row from two arrays (``add_term_ids_coeffs``),
    which is what ``lpSum_vars_coefs`` does after a Python loop over the terms;
    handing it the numpy slices directly skips that loop (measured faster for to_pulp;
    see benchmarks/RESULTS.md).
    Where that method is missing, the public function is used.
    """
    import pulp

    if hasattr(pulp.LpAffineExpression.empty()._expr, "add_term_ids_coeffs"):
        model = prob._model

        def build(columns, values):
            expr = pulp.LpAffineExpression.empty()
            if len(columns):
                expr._expr.add_term_ids_coeffs(model, ids[columns], np.ascontiguousarray(values, dtype=float))
            return expr
        return build

    def build_public(columns, values):
        return pulp.lpSum_vars_coefs([(variables[j], float(v)) for j, v in zip(columns, values)])
    return build_public


# ---------------------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------------------

EXPORT_FORMATS = (".lp", ".mps")


def check_export_path(output: Path, inputs: list[Path]) -> Path:
    """The export path must end in .lp or .mps and pass :func:`procure.paths.check_paths` (not an input,
    not a folder)."""
    output = Path(output)
    if output.suffix.casefold() not in EXPORT_FORMATS:
        raise OutputError(f"the model path '{output}' must end in .lp or .mps (the format is taken from it)")
    check_paths(inputs, [("model", output)])
    return output


def export_model(lp: LinearProgram, output: Path, inst=None, *, title: str = "procure") -> PulpModel:
    """Write ``lp`` as PuLP writes it (LP or MPS, from the suffix) with readable names, atomically.

    ``inst`` labels keys as the workbook spells them (see :func:`readable_names`);
    any LinearProgram can be exported. The file is written to a temporary file
    beside ``output`` and renamed into place.
    """
    output = Path(output)
    suffix = output.suffix.casefold()
    if suffix not in EXPORT_FORMATS:
        raise OutputError(f"the model path '{output}' must end in .lp or .mps")
    model = to_pulp(lp, readable_names(lp, inst), constant_column=True, title=title)
    try:
        with atomic_write(output, suffix) as temporary:  # an audit file: readable by others, not mkstemp's 0600
            if suffix == ".lp":
                model.problem.writeLP(str(temporary))
            else:
                model.problem.writeMPS(str(temporary))
    except (OSError, RuntimeError) as exc:  # PuLP's Rust writer reports a file it cannot create as RuntimeError
        raise OutputError(f"cannot write '{output}': {getattr(exc, 'strerror', None) or exc}") from None
    return model


# ---------------------------------------------------------------------------------------------------------
# Solvers
# ---------------------------------------------------------------------------------------------------------

IN_PROCESS = "highs"  # procure's own road: the matrix to highspy in one passModel call (procure.solve)

#: procure's solver name -> PuLP interfaces (class names in pulp.apis), the first available is used.
#: CHOCO and CP-SAT are left out: they solve integer-only models and every procure model has
#: continuous purchases; SAS needs a session configuration procure has no way to pass.
PULP_SOLVERS: dict[str, tuple[str, ...]] = {
    "cbc": ("COIN_CMD", "CYLP", "COINMP_DLL"),
    "glpk": ("GLPK_CMD", "PYGLPK"),
    "highs-pulp": ("HiGHS", "HiGHS_CMD"),
    "scip": ("SCIP_CMD", "SCIP_PY"),
    "fscip": ("FSCIP_CMD",),
    "gurobi": ("GUROBI", "GUROBI_CMD"),
    "cplex": ("CPLEX_PY", "CPLEX_CMD"),
    "xpress": ("XPRESS_PY", "XPRESS", "XPRESS_CMD"),
    "copt": ("COPT", "COPT_DLL", "COPT_CMD"),
    "mosek": ("MOSEK",),
    "cuopt": ("CUOPT",),
    "mipcl": ("MIPCL_CMD",),
}
#: Python package that carries an API interface (its version is reported).
_PACKAGE_OF = {"HiGHS": "highspy", "GUROBI": "gurobipy", "CPLEX_PY": "cplex", "XPRESS_PY": "xpress",
               "COPT": "coptpy", "COPT_DLL": "coptpy", "MOSEK": "mosek", "CUOPT": "cuopt",
               "SCIP_PY": "pyscipopt", "PYGLPK": "glpk", "CYLP": "cylp", "COINMP_DLL": "pulp"}
_VERSION_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class SolverInfo:
    """One solver ``--solver`` accepts on this machine."""

    name: str  # what --solver takes
    interface: str  # the PuLP class, or "highspy passModel" for the in-process default
    version: str
    mip: bool  # every interface listed solves MIPs (optional agreements need it)


def _pulp_class(class_name: str):
    import pulp.apis

    return getattr(pulp.apis, class_name, None)


@lru_cache(maxsize=None)
def _available_interface(name: str) -> str | None:
    """The first PuLP interface of solver ``name`` that can run here, or None."""
    for class_name in PULP_SOLVERS[name]:
        cls = _pulp_class(class_name)
        if cls is None:
            continue
        try:
            if cls(msg=False).available():
                return class_name
        except Exception:  # an interface whose library is half installed is simply not available
            continue
    return None


def _alias(name: str) -> tuple[str, str | None]:
    """(procure solver name, PuLP class or None for 'first available') for a user's ``--solver`` text."""
    wanted = name.strip().casefold()
    if wanted == IN_PROCESS:
        return IN_PROCESS, None
    if wanted in PULP_SOLVERS:
        return wanted, None
    for solver, classes in PULP_SOLVERS.items():
        for class_name in classes:
            if class_name.casefold() == wanted:
                return solver, class_name
    raise KeyError(name)


def available_solvers() -> list[SolverInfo]:
    """Every solver ``--solver`` accepts here: the in-process HiGHS first, then PuLP's, by name."""
    found = [SolverInfo(IN_PROCESS, "highspy passModel (in process)", _package_version("highspy"), True)]
    for name in sorted(PULP_SOLVERS):
        class_name = _available_interface(name)
        if class_name is not None:
            found.append(SolverInfo(name, class_name, _interface_version(class_name), True))
    return found


def check_solver(name: str) -> str:
    """The procure name of solver ``name`` (a procure name or a PuLP class name, any case), if it can run here.

    An unknown or unavailable name is an input error (exit 1) listing what is available.
    """
    try:
        solver, class_name = _alias(name)
    except KeyError:
        raise ProcureError(f"unknown solver '{name}'; available here: {_available_list()} "
                           "(`procure solvers` lists them with versions)") from None
    if solver == IN_PROCESS:
        return solver
    if class_name is not None:
        cls = _pulp_class(class_name)
        ok = cls is not None and _safe_available(cls)
    else:
        ok = _available_interface(solver) is not None
    if not ok:
        raise ProcureError(f"unknown solver '{name}' on this machine: PuLP supports it but cannot run it here "
                           f"(not installed, or no licence); available here: {_available_list()}")
    return name.strip().casefold() if class_name is None else class_name.casefold()


def _safe_available(cls) -> bool:
    try:
        return bool(cls(msg=False).available())
    except Exception:
        return False


def _available_list() -> str:
    return ", ".join(s.name for s in available_solvers())


def _package_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@lru_cache(maxsize=None)
def _interface_version(class_name: str) -> str:
    """The solver's version: its Python package's for an API interface, what its binary says for a command."""
    if class_name in _PACKAGE_OF:
        return _package_version(_PACKAGE_OF[class_name])
    cls = _pulp_class(class_name)
    path = getattr(cls(msg=False), "path", None)
    executable = shutil.which(path) if path else None
    if not executable:
        return "unknown"
    text = ""
    with tempfile.TemporaryDirectory(prefix="procure-version-") as folder:
        for flag in ("--version", "-version"):
            try:
                run = subprocess.run([executable, flag], cwd=folder, stdin=subprocess.DEVNULL,
                                     capture_output=True, timeout=_VERSION_TIMEOUT_S)
            except (OSError, subprocess.TimeoutExpired):
                continue
            text = (run.stdout + run.stderr).decode("utf-8", "replace")
            if _parse_version(text):
                break
    version = _parse_version(text) or "unknown"
    if class_name == "COIN_CMD" and "cbcbox" in executable:
        version += f" (cbcbox {_package_version('cbcbox')})"
    return version


def _parse_version(text: str) -> str | None:
    """``Version: 2.10.12`` / ``SCIP version 9.0.0`` / ``GLPK LP/MIP Solver 5.0`` -> the version.

    Only the first lines are read: a licence text further down says "version 3".
    """
    for line in text.splitlines()[:5]:
        labelled = re.search(r"version\s*:?\s*([^\s,]+(?: \([^)]*\))?)", line, re.IGNORECASE)
        if labelled:
            return labelled.group(1)
        number = re.search(r"\b(\d+\.\d+(?:\.\d+)*)\b", line)
        if number:
            return number.group(1)
    return None


def _make_solver(class_name: str, options, workdir: str, is_mip: bool):
    """A PuLP solver with procure's options and deterministic settings, running in ``workdir``.

    Only the arguments the interface takes are passed (GLPK_CMD, say, takes no
    ``gapRel``; its gap goes in its command-line options).
    """
    cls = _pulp_class(class_name)
    accepted = inspect.signature(cls.__init__).parameters
    time_limit = options.time_limit_s
    extra: list = []
    kwargs = {"msg": bool(options.verbose), "mip": True}
    if class_name == "GLPK_CMD":
        if time_limit is not None:
            time_limit = max(1, math.ceil(time_limit))  # glpsol --tmlim takes whole seconds
        if is_mip:
            extra += ["--mipgap", repr(float(options.gap))]
    elif class_name == "COIN_CMD":
        extra += ["randomCbcSeed 1"]
        if _cbc_prints_full_precision(getattr(cls(msg=False), "path", "")):
            # CBC's solution file holds 8 significant digits by default: 250/17 comes back as 14.7058824
            extra += ["precisionOutput %.17g"]
    if time_limit is not None:
        kwargs["timeLimit"] = float(time_limit) if class_name != "GLPK_CMD" else time_limit
    if "gapRel" in accepted:
        kwargs["gapRel"] = float(options.gap)
    if "threads" in accepted and class_name != "HiGHS":
        # PuLP's HiGHS shares highspy's thread scheduler with procure's in-process HiGHS, which fixes
        # its size on first use; asking for another size makes HiGHS refuse to run
        kwargs["threads"] = 1
    if extra and "options" in accepted:
        kwargs["options"] = extra
    if class_name == "HiGHS":
        kwargs["random_seed"] = 0  # passed through to highspy as an option
    if class_name == "GUROBI":
        kwargs.update(Threads=1, Seed=0)
    solver = cls(**{k: v for k, v in kwargs.items() if k in accepted or _takes_any_keyword(accepted)})
    if hasattr(solver, "tmpDir"):
        solver.tmpDir = workdir  # a command-line solver writes its files here, so parallel runs never collide
    return solver


@lru_cache(maxsize=None)
def _cbc_prints_full_precision(path: str) -> bool:
    """Whether this CBC knows ``-precisionOutput`` (recent builds such as cbcbox's; CBC 2.10 does not)."""
    executable = shutil.which(path) if path else None
    if not executable:
        return False
    with tempfile.TemporaryDirectory(prefix="procure-cbc-check-") as folder:
        try:
            run = subprocess.run([executable, "-precisionOutput", "%.17g", "-quit"], cwd=folder,
                                 stdin=subprocess.DEVNULL, capture_output=True, timeout=_VERSION_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired):
            return False
    return run.returncode == 0 and b"Unrecognized" not in run.stdout + run.stderr


def _takes_any_keyword(parameters) -> bool:
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def solve_with_pulp(lp: LinearProgram, options):
    """Solve ``lp`` with the PuLP solver ``options.solver``; return procure.solve's ``RawResult`` record.

    Values are read back by position. Duals (``pi``, ``dj``) are returned for an
    LP when the solver provides them for every row and column, else None.
    """
    import pulp


    solver_name, class_name = _alias(options.solver)
    class_name = class_name or _available_interface(solver_name)
    if class_name is None:
        check_solver(options.solver)  # raises the listing error
    workdir = tempfile.mkdtemp(prefix=f"procure-{solver_name}-")
    try:
        model = to_pulp(lp)
        solver = _make_solver(class_name, options, workdir, lp.is_mip)
        with quiet_stdout(not options.verbose):
            try:
                stats = model.problem.solve(solver)
            except pulp.PulpSolverError as exc:
                raise SolverError(f"{solver_name} failed: {str(exc).strip()}") from None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    values = np.array([v.varValue if v.varValue is not None else 0.0 for v in model.variables]) \
        if stats.has_solution else None
    S = pulp.LpSolveStatus
    best_bound = stats.best_bound
    if stats.status == S.Optimal and values is not None:
        row_dual = col_dual = None
        if not lp.is_mip:
            pi = [c.pi for c in model.constraints]
            dj = [v.dj for v in model.variables]
            if all(p is not None for p in pi) and all(d is not None for d in dj):
                row_dual, col_dual = np.array(pi, dtype=float), np.array(dj, dtype=float)
        return RawResult(RawKind.OPTIMAL, stats.status_str, values, best_bound, row_dual, col_dual)
    if stats.status == S.GapLimit and values is not None:
        return RawResult(RawKind.GAP_LIMIT, stats.status_str, values, best_bound)
    if stats.status == S.Infeasible or (stats.status in (S.Unbounded, S.Undefined) and values is None):
        return RawResult(RawKind.INFEASIBLE, stats.status_str)
    return RawResult(RawKind.STOPPED, stats.status_str, values, best_bound)
