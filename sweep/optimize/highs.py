"""A thin, array-shaped door to HiGHS: build a model from COO entries, solve, read the status first."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

import highspy
import numpy as np

_quiet = False


def new_highs() -> highspy.Highs:
    """A silent solver. HiGHS prints its banner to the C-level stdout when the first one is made,
    which would spoil ``--json`` output, so that first construction writes to /dev/null."""
    global _quiet
    if _quiet:
        h = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _quiet = True
    h.setOptionValue("output_flag", False)
    return h


@dataclass
class Model:
    n_cols: int
    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    integer: np.ndarray | None = None  # bool per column
    row_lower: list[np.ndarray] = field(default_factory=list)
    row_upper: list[np.ndarray] = field(default_factory=list)
    _rows: list[np.ndarray] = field(default_factory=list)
    _cols: list[np.ndarray] = field(default_factory=list)
    _vals: list[np.ndarray] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return int(sum(len(r) for r in self.row_lower))

    def add_rows(self, lower: np.ndarray, upper: np.ndarray) -> int:
        """Append rows; returns the index of the first."""
        first = self.n_rows
        self.row_lower.append(np.asarray(lower, dtype=float))
        self.row_upper.append(np.asarray(upper, dtype=float))
        return first

    def add_entries(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> None:
        self._rows.append(np.asarray(rows, dtype=np.int64))
        self._cols.append(np.asarray(cols, dtype=np.int64))
        self._vals.append(np.asarray(vals, dtype=float))

    def to_highs(self) -> highspy.HighsLp:
        rows = np.concatenate(self._rows) if self._rows else np.zeros(0, dtype=np.int64)
        cols = np.concatenate(self._cols) if self._cols else np.zeros(0, dtype=np.int64)
        vals = np.concatenate(self._vals) if self._vals else np.zeros(0)
        order = np.lexsort((rows, cols))
        lp = highspy.HighsLp()
        lp.num_col_ = self.n_cols
        lp.num_row_ = self.n_rows
        inf = highspy.kHighsInf
        lp.col_cost_ = np.asarray(self.cost, dtype=float)
        lp.col_lower_ = np.where(np.isneginf(self.lower), -inf, self.lower).astype(float)
        lp.col_upper_ = np.where(np.isposinf(self.upper), inf, self.upper).astype(float)
        rl = np.concatenate(self.row_lower) if self.row_lower else np.zeros(0)
        ru = np.concatenate(self.row_upper) if self.row_upper else np.zeros(0)
        lp.row_lower_ = np.where(np.isneginf(rl), -inf, rl)
        lp.row_upper_ = np.where(np.isposinf(ru), inf, ru)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_ = self.n_cols
        lp.a_matrix_.num_row_ = self.n_rows
        lp.a_matrix_.start_ = np.searchsorted(cols[order], np.arange(self.n_cols + 1)).astype(np.int32)
        lp.a_matrix_.index_ = rows[order].astype(np.int32)
        lp.a_matrix_.value_ = vals[order]
        if self.integer is not None and self.integer.any():
            lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous for b in self.integer]
        return lp


@dataclass(frozen=True)
class Result:
    status: str  # 'optimal' | 'time_limit' | 'infeasible' | 'other'
    x: np.ndarray | None  # None when there is no feasible point to read
    objective: float
    bound: float  # the MIP's dual bound (the LP's objective for an LP)
    message: str


def run(model: Model, *, time_limit: float, mip: bool, start: np.ndarray | None = None, gap: float = 1e-4,
        threads: int = 1, node_limit: int | None = None) -> Result:
    """Solve; ``node_limit`` stops a MIP by its branch-and-bound nodes, the same wherever it runs, before the clock."""
    began = time.perf_counter()
    h = new_highs()
    h.setOptionValue("time_limit", float(max(time_limit, 0.1)))
    h.setOptionValue("mip_rel_gap", float(gap))
    h.setOptionValue("threads", int(threads))
    if node_limit is not None:
        h.setOptionValue("mip_max_nodes", int(node_limit))
    lp = model.to_highs()
    # Building the LP takes time too; HiGHS's clock starts only at run().
    h.setOptionValue("time_limit", float(max(time_limit - (time.perf_counter() - began), 0.1)))
    h.passModel(lp)
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(start, dtype=float)
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    text = h.modelStatusToString(status)
    S = highspy.HighsModelStatus
    if status in (S.kInfeasible, S.kUnboundedOrInfeasible):
        return Result("infeasible", None, np.inf, np.inf, text)
    has_point = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value) if has_point else None
    objective = float(info.objective_function_value) if has_point else np.inf
    if mip:
        bound = float(info.mip_dual_bound)
    else:
        bound = objective if status == S.kOptimal else -np.inf
    if status == S.kOptimal:
        return Result("optimal", x, objective, bound, text)
    if status in (S.kTimeLimit, S.kIterationLimit, S.kSolutionLimit, S.kInterrupt):
        return Result("time_limit", x, objective, bound, text)
    return Result("other", x, objective, bound, text)
