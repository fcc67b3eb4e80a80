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
    vartype: str = "BINARY"   # "SPIN" for a dimod SPIN model (x = (s + 1) / 2 inside)

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


# --------------------------------------------------------------------------- memory
class InsufficientMemoryError(ValueError):
    """A problem (or its annealing state) would need more memory than the machine has
    available; raised before anything large is allocated."""


def available_memory() -> int:
    """Bytes of memory available now (psutil, else ``os.sysconf``; None if unknown)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - psutil missing or unsupported platform
        try:
            return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None


def problem_bytes(n: int, m: int) -> int:
    """Rough peak bytes of building a graph QUBO with ``n`` vertices and ``m`` edges (the
    CSR matrices Q and J, their temporaries, degree and bias vectors)."""
    return 200 * int(n) + 250 * int(m)


def state_bytes(n: int, replicas: int) -> int:
    """Rough bytes of the annealing state: about a dozen (replicas, n) 64-bit arrays."""
    return 96 * int(n) * int(replicas)


def check_memory(what: str, nbytes: int, fraction: float = 0.8) -> None:
    """Raise :class:`InsufficientMemoryError` naming ``what`` when ``nbytes`` exceed
    ``fraction`` of the memory available now."""
    avail = available_memory()
    if avail is not None and nbytes > fraction * avail:
        raise InsufficientMemoryError(
            f"{what} would need about {nbytes / 2**30:.3g} GiB, more than the "
            f"{fraction * avail / 2**30:.3g} GiB this machine can spare now "
            f"({avail / 2**30:.3g} GiB available); use a smaller problem")


def _check_graph(n, edges, weights, what="graph"):
    n = V.check_int("n", n, 1)
    m = len(edges) if hasattr(edges, "__len__") else 0
    check_memory(f"a {what} with n={n} vertices and {m} edges", problem_bytes(n, m))
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
    to BINARY, ``x = (s + 1) / 2``, and remembered as ``vartype="SPIN"`` so that
    :func:`solve` returns -1/+1 samples). Returns the problem and the variable order
    (labels)."""
    import dimod

    if not isinstance(bqm, dimod.BinaryQuadraticModel):
        raise TypeError(f"bqm must be a dimod.BinaryQuadraticModel, got {type(bqm).__name__}")
    vartype = "SPIN" if bqm.vartype is dimod.SPIN else "BINARY"
    if bqm.vartype is dimod.SPIN:
        bqm = bqm.change_vartype(dimod.BINARY, inplace=False)
    labels = list(bqm.variables)
    if not labels:
        raise ValueError("bqm has no variables: nothing to solve")
    lin, (row, col, quad), offset = bqm.to_numpy_vectors(variable_order=labels)
    n = len(labels)
    lo, hi = np.minimum(row, col), np.maximum(row, col)
    q = sp.coo_matrix((quad, (lo, hi)), shape=(n, n)) + sp.diags(lin)
    return (QuboProblem(sp.csr_matrix(q), float(offset), "qubo", name="bqm",
                        vartype=vartype), labels)


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
_COMMENT = ("#", "%")


def _read_edge_lines(path, header: bool):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"graph file not found: {path}")
    with open(path) as f:
        numbered = [(k + 1, ln.split()) for k, ln in enumerate(f)
                    if ln.strip() and not ln.lstrip().startswith(_COMMENT)]
    for lineno, parts in numbered:
        hit = next((t for t in parts if t.startswith(_COMMENT)), None)
        if hit is not None:
            raise ValueError(f"{path}: line {lineno} {' '.join(parts)!r} has an inline "
                             f"comment ({hit[0]!r} after data); comments must be on lines of "
                             f"their own, starting with '#' or '%'")
    lines = [parts for _, parts in numbered]
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
        check_memory(f"{path}: header n={n} vertices, m={m} edges", problem_bytes(n, m))
        if len(lines) != m:
            raise ValueError(f"{path}: header says m={m} edges but the file has {len(lines)}")
    elif lines and _looks_like_gset_header(lines):
        raise ValueError(
            f"{path}: the first line {' '.join(lines[0])!r} looks like a rudy/Gset header "
            f"'n m' ({len(lines) - 1} edge lines follow, as m says); read this file with "
            "--gset (read_gset), not as a plain edge list (--maxcut-edges / read_edges)")
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


def _looks_like_gset_header(lines) -> bool:
    """A first line of two integers ``n m`` with ``m`` equal to the number of lines after it
    (and ``n`` at least the largest id there): the rudy/Gset header."""
    head = lines[0]
    if len(head) != 2:
        return False
    try:
        n, m = int(head[0]), int(head[1])
    except ValueError:
        return False
    if m != len(lines) - 1 or m == 0:
        return False
    try:
        top = max(max(int(p[0]), int(p[1])) for p in lines[1:] if len(p) >= 2)
    except ValueError:
        return False
    return n >= top


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
