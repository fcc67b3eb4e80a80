"""QUBO problems: a matrix, Max-Cut, Maximum Independent Set, dimod models and Gset files.

Convention: minimise ``E(x) = x^T Q x + offset`` over ``x`` in {0, 1}^N with ``Q`` symmetric or
upper triangular (both are accepted; the same ``x^T Q x`` either way). A lower-triangular or
otherwise asymmetric ``Q`` is rejected rather than guessed.
"""
from __future__ import annotations

import dataclasses
import os
import typing as ty

import numpy as np
import scipy.sparse as sp

from lava_llm import validation as V
from lava_llm.processes.qubo_annealing import kernels


@dataclasses.dataclass
class QuboProblem:
    """A validated QUBO. ``q`` is CSR float64 (symmetric or upper triangular, as given);
    ``kind`` is ``"qubo"``, ``"maxcut"`` or ``"mis"``; Max-Cut and MIS keep their graph as
    ``edges`` (m, 2) int and ``weights`` (m,) so that cuts / sets can be read back."""

    q: sp.csr_matrix
    offset: float = 0.0
    kind: str = "qubo"
    edges: ty.Optional[np.ndarray] = None
    weights: ty.Optional[np.ndarray] = None
    name: str = ""

    def __post_init__(self):
        self.J, self.d = kernels.split_qubo(self.q, "Q")
        self.q = sp.csr_matrix(self.q, dtype=np.float64)
        self.offset = float(V.check_finite("offset", float(self.offset)))

    @property
    def n(self) -> int:
        return self.d.size

    def energy(self, x) -> np.ndarray:
        """``x^T Q x + offset`` for one state (N,) or a batch (R, N), recomputed from ``Q``."""
        x = np.asarray(x, dtype=np.float64)
        xs = np.atleast_2d(x)
        e = np.einsum("rn,rn->r", np.asarray((self.q @ xs.T).T), xs) + self.offset
        return e if x.ndim == 2 else float(e[0])

    def cut(self, x) -> float:
        """Max-Cut value of ``x`` (sum of weights of edges whose ends differ)."""
        if self.edges is None:
            raise ValueError("cut() needs a graph problem (maxcut or mis)")
        x = np.asarray(x)
        return float(np.sum(self.weights * (x[self.edges[:, 0]] != x[self.edges[:, 1]])))

    def violations(self, x) -> int:
        """MIS: number of edges with both ends in the set."""
        if self.edges is None:
            raise ValueError("violations() needs a graph problem (mis)")
        x = np.asarray(x)
        return int(np.sum((x[self.edges[:, 0]] == 1) & (x[self.edges[:, 1]] == 1)))


def from_matrix(q, offset: float = 0.0, name: str = "qubo") -> QuboProblem:
    """A QUBO from a dense or scipy-sparse matrix (symmetric or upper triangular)."""
    kernels.split_qubo(q, "Q")  # validate with the original dtype / sparsity
    return QuboProblem(sp.csr_matrix(q, dtype=np.float64), float(offset), "qubo", name=name)


def _check_graph(n, edges, weights, what="graph"):
    n = V.check_int("n", n, 1)
    edges = np.asarray(edges)
    if edges.size == 0:
        edges = edges.reshape(0, 2)
    edges = V.check_shape("edges", edges, (None, 2))
    edges = V.check_int_range("edges (vertex ids, 0-based)", edges, 0, n - 1)
    if weights is None:
        weights = np.ones(len(edges))
    weights = V.check_shape("weights", V.check_finite("weights", weights), (len(edges),))
    weights = weights.astype(np.float64)
    loops = edges[:, 0] == edges[:, 1]
    if loops.any():
        raise ValueError(f"{what} has {int(loops.sum())} self-loop(s), e.g. vertex "
                         f"{int(edges[loops][0, 0])}")
    return n, edges.astype(np.int64), weights


def maxcut(n: int, edges, weights=None, name: str = "maxcut") -> QuboProblem:
    """Max-Cut of a weighted graph as a QUBO with ``E(x) = -cut(x)``:
    ``Q_ii = -sum_j w_ij``, ``Q_ij = Q_ji = w_ij`` (so ``J_ij = 2 w_ij``). Vertex ids 0-based."""
    n, edges, weights = _check_graph(n, edges, weights)
    i, j = edges[:, 0], edges[:, 1]
    deg = np.bincount(i, weights, n) + np.bincount(j, weights, n)
    off = sp.coo_matrix((np.r_[weights, weights], (np.r_[i, j], np.r_[j, i])), shape=(n, n))
    q = sp.csr_matrix(off) + sp.diags(-deg)
    return QuboProblem(sp.csr_matrix(q), 0.0, "maxcut", edges, weights, name)


def mis(n: int, edges, penalty: float = 2.0, name: str = "mis") -> QuboProblem:
    """Maximum Independent Set: ``E(x) = -sum_i x_i + penalty * sum_{(i,j) in E} x_i x_j``.
    With ``penalty > 1`` every minimum is an independent set and ``-E`` is its size."""
    n, edges, w = _check_graph(n, edges, None)
    penalty = V.check_positive("penalty", penalty)
    if penalty <= 1:
        raise ValueError(f"penalty must be > 1 so that minima are independent sets, got {penalty}")
    i, j = edges[:, 0], edges[:, 1]
    off = sp.coo_matrix((np.full(2 * len(i), penalty / 2), (np.r_[i, j], np.r_[j, i])),
                        shape=(n, n))
    q = sp.csr_matrix(off) + sp.diags(-np.ones(n))
    return QuboProblem(sp.csr_matrix(q), 0.0, "mis", edges, w, name)


# --------------------------------------------------------------------------- dimod
def from_bqm(bqm) -> tuple[QuboProblem, list]:
    """A :class:`QuboProblem` from a ``dimod.BinaryQuadraticModel`` (SPIN models are converted
    to BINARY). Returns the problem and the variable order (labels)."""
    import dimod

    if not isinstance(bqm, dimod.BinaryQuadraticModel):
        raise TypeError(f"bqm must be a dimod.BinaryQuadraticModel, got {type(bqm).__name__}")
    if bqm.vartype is dimod.SPIN:
        bqm = bqm.change_vartype(dimod.BINARY, inplace=False)
    labels = list(bqm.variables)
    if not labels:
        raise ValueError("bqm has no variables: nothing to solve")
    lin, (row, col, quad), offset = bqm.to_numpy_vectors(variable_order=labels)
    n = len(labels)
    lo, hi = np.minimum(row, col), np.maximum(row, col)
    q = sp.coo_matrix((quad, (lo, hi)), shape=(n, n)) + sp.diags(lin)
    return QuboProblem(sp.csr_matrix(q), float(offset), "qubo", name="bqm"), labels


def to_bqm(problem: QuboProblem, labels=None):
    """The problem as a BINARY ``dimod.BinaryQuadraticModel`` (same energy for every x)."""
    import dimod

    labels = list(range(problem.n)) if labels is None else list(labels)
    if len(labels) != problem.n:
        raise ValueError(f"labels must have {problem.n} entries, got {len(labels)}")
    upper = sp.triu(problem.J, k=1).tocoo()
    bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(
        problem.d, (upper.row, upper.col, upper.data), problem.offset, dimod.BINARY,
        variable_order=labels)
    return bqm


# --------------------------------------------------------------------------- files
def _read_edge_lines(path, header: bool):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"graph file not found: {path}")
    with open(path) as f:
        lines = [ln.split() for ln in f if ln.strip() and not ln.lstrip().startswith(("#", "%"))]
    n = m = None
    if header:
        if not lines:
            raise ValueError(f"{path}: empty file; a rudy/Gset file starts with 'n m'")
        head = lines.pop(0)
        try:
            n, m = (int(v) for v in head)
        except ValueError:
            raise ValueError(f"{path}: bad header {' '.join(head)!r}; a rudy/Gset file "
                             "starts with two integers 'n m'") from None
        if n < 1 or m < 0:
            raise ValueError(f"{path}: bad header: n={n} must be >= 1 and m={m} >= 0")
        if len(lines) != m:
            raise ValueError(f"{path}: header says m={m} edges but the file has {len(lines)}")
    rows = []
    for k, parts in enumerate(lines):
        if len(parts) not in (2, 3):
            raise ValueError(f"{path}: edge line {k + 1} {' '.join(parts)!r} is not 'i j [w]'")
        try:
            i, j = int(parts[0]), int(parts[1])
            w = float(parts[2]) if len(parts) == 3 else 1.0
        except ValueError:
            raise ValueError(f"{path}: edge line {k + 1} {' '.join(parts)!r} is not "
                             "'i j [w]' with integer vertex ids") from None
        rows.append((i, j, w))
    arr = np.array(rows, dtype=np.float64).reshape(-1, 3)
    return n, m, arr


def read_gset(path, name: ty.Optional[str] = None) -> QuboProblem:
    """Read a rudy/Gset Max-Cut file: first line ``n m``, then ``i j w`` per edge, vertex ids
    1-based in ``[1, n]``. Raises ``ValueError`` for a bad header, a wrong edge count or an
    out-of-range vertex id."""
    n, m, arr = _read_edge_lines(path, header=True)
    ij = arr[:, :2].astype(np.int64)
    if ij.size and (ij.min() < 1 or ij.max() > n):
        bad = ij[(ij < 1) | (ij > n)][0]
        raise ValueError(f"{path}: vertex id {bad} out of range [1, {n}] (rudy ids are 1-based)")
    name = name or os.path.splitext(os.path.basename(os.fspath(path)))[0]
    return maxcut(n, ij - 1, arr[:, 2], name=name)


def read_edges(path, n: ty.Optional[int] = None) -> QuboProblem:
    """Read a plain edge list ``i j [w]`` (0-based ids, no header) as a Max-Cut problem;
    ``n`` defaults to the largest id + 1."""
    _, _, arr = _read_edge_lines(path, header=False)
    if arr.shape[0] == 0:
        raise ValueError(f"{path}: no edges: nothing to solve")
    ij = arr[:, :2].astype(np.int64)
    if ij.min() < 0:
        raise ValueError(f"{path}: vertex id {ij.min()} out of range (ids are 0-based, >= 0)")
    if n is None:
        n = int(ij.max()) + 1
    if ij.max() >= n:
        raise ValueError(f"{path}: vertex id {ij.max()} out of range [0, {n - 1}]")
    return maxcut(n, ij, arr[:, 2], name=os.path.basename(os.fspath(path)))


def read_qubo_npy(path) -> QuboProblem:
    """Load a dense QUBO matrix saved with ``numpy.save``."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"QUBO file not found: {path}")
    try:
        q = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{path}: not a numeric .npy array ({exc})") from None
    return from_matrix(q, name=os.path.basename(path))
