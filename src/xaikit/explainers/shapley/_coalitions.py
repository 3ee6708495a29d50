"""Coalition designs for regression estimators of Shapley values.

A design is a list of coalitions (bool masks) with weights such that, for any function
``g`` of a coalition, ``sum_i weight_i * g(S_i)`` estimates ``sum_S kernel(S) * g(S)`` over all
coalitions of sizes ``1..k-1``, with the Shapley kernel
``kernel(S) = (k - 1) / (C(k, |S|) |S| (k - |S|))``.

Coalitions come in complementary pairs ``{S, N \\ S}`` (*units*), grouped into strata by
``min(|S|, k - |S|)``. A strategy gives every stratum a share of the budget; strata whose
share covers all their units are enumerated exactly, the others are sampled: without
replacement when a stratum is sampled alone, with replacement (stratum drawn by share)
when strata with too few units each are pooled. Weights are inverse inclusion rates, so the
estimates are unbiased; per-group draws allow an honest (stratified) variance estimate.

A stratum sampled alone for one background row's game can instead take a *balanced* design
(:func:`balanced_units`): a fixed set of units in which every player, then every pair of players,
is a member about equally often, relabelled by a random permutation of the players. Every unit
keeps the inclusion probability of a simple random sample, so the same weights stay unbiased,
and the sample's Gram matrix is (nearly) the stratum's own: the error no longer carries the
chance over- or under-representation of a player. The variance estimate is still that of a
simple random sample, which overstates the spread wherever balancing lowered it (on the
heart-disease games of ``benchmarks/shapley_accuracy.py``, 8 to 100 background rows, the lowest
coverage of 2 SE over the budgets rises from 0.94-0.96 to 0.96-0.98).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import combinations
from math import comb

import numpy as np

from xaikit.explainers.shapley._kernels import dealt_indices, draw_subsets

__all__ = [
    "Design",
    "ReferenceDesigns",
    "build_design",
    "build_reference_designs",
    "is_exhaustive",
    "pack_coalitions",
    "unpack_coalitions",
    "prefix_masks",
    "stratum_shares",
    "kernel_weight",
    "paired_masks",
    "balanced_units",
    "stratum_gram",
]

#: Strata with at most this many units are sampled by permuting their full list.
_ENUMERATE_LIMIT = 50_000
#: Strata with at most this many units are sampled in balanced designs (:func:`balanced_units`).
_BALANCE_LIMIT = 5_000


def kernel_weight(k: int, s: int | np.ndarray) -> np.ndarray:
    """Shapley kernel weight of one coalition of size ``s`` among ``k`` players."""
    s = np.asarray(s)
    sizes, where = np.unique(s, return_inverse=True)  # a binomial per distinct size, not per coalition
    per_size = np.array([float(comb(k, int(v))) for v in sizes])  # exceeds int64 from k = 67
    return (k - 1) / (per_size[where].reshape(s.shape) * s * (k - s))


def stratum_gram(k: int, s: int) -> np.ndarray:
    """The stratum's exact share of the paired normal matrix: ``sum_u w (z z' + (1 - z)(1 - z)')``
    over its every unit, ``w`` the kernel weight (closed form; ``(k, k)``).

    Every unit puts each player in exactly one of its two coalitions, and two players together in
    one of them in ``C(k-2, s-2) + C(k-2, s)`` of the ``C(k, s)`` coalitions of size ``s`` (half of
    them, and half the units, in the middle stratum ``2 s = k``).

    >>> from itertools import combinations
    >>> units = [np.isin(np.arange(5), c) for c in combinations(range(5), 2)]
    >>> by_hand = sum(np.outer(z, z) + np.outer(~z, ~z) for z in units) * kernel_weight(5, 2)
    >>> bool(np.allclose(stratum_gram(5, 2), by_hand))
    True
    """
    scale = (k - 1) / (s * (k - s)) * (0.5 if 2 * s == k else 1.0)
    together = (s * (s - 1) + (k - s) * (k - s - 1)) / (k * (k - 1))
    out = np.full((k, k), scale * together)
    np.fill_diagonal(out, scale)
    return out


def stratum_sizes(k: int) -> list[int]:
    """Smaller size of each stratum: ``1 .. k // 2``."""
    return list(range(1, k // 2 + 1))


def n_units(k: int, s: int) -> int:
    """Number of complementary pairs whose smaller member has size ``s``."""
    return comb(k, s) // 2 if 2 * s == k else comb(k, s)


def stratum_shares(k: int, strategy: str) -> np.ndarray:
    """Budget share of each stratum (sums to 1).

    ``"kernel"``: proportional to the Shapley kernel mass of the stratum's sizes (KernelSHAP).
    ``"leverage"``: equal for every coalition size, the leverage scores of the Shapley
    regression (Leverage SHAP).
    """
    sizes = np.array(stratum_sizes(k), dtype=float)
    n_sizes = np.where(2 * sizes == k, 1.0, 2.0)
    if strategy == "kernel":
        share = n_sizes / (sizes * (k - sizes))
    elif strategy == "leverage":
        share = n_sizes
    else:  # pragma: no cover - validated by callers
        raise ValueError(strategy)
    return share / share.sum()


@lru_cache(maxsize=64)
def _all_units(k: int, s: int) -> np.ndarray:
    """Every unit of stratum ``s`` as the mask of its member of size ``s`` (containing player 0 when ``2s == k``)."""
    if 2 * s == k:
        combos = [(0, *c) for c in combinations(range(1, k), s - 1)]
    else:
        combos = list(combinations(range(k), s))
    out = np.zeros((len(combos), k), dtype=bool)
    rows = np.repeat(np.arange(len(combos)), s)
    out[rows, np.asarray(combos, dtype=np.intp).ravel()] = True
    out.setflags(write=False)
    return out


def pack_coalitions(masks: np.ndarray) -> np.ndarray:
    """Coalition codes of bool masks ``(..., k)``: player ``j`` is bit ``j % 64`` of word ``j // 64``,
    uint64 ``(..., ceil(k / 64))``.

    >>> pack_coalitions(np.array([[True, False, True], [False, True, False]])).ravel().tolist()
    [5, 2]
    """
    masks = np.asarray(masks, dtype=bool)
    k = masks.shape[-1]
    n_words = max(1, -(-k // 64))
    packed = np.packbits(masks, axis=-1, bitorder="little")
    out = np.zeros((*masks.shape[:-1], 8 * n_words), dtype=np.uint8)
    out[..., : packed.shape[-1]] = packed
    return out.view(np.dtype("<u8")).astype(np.uint64, copy=False)


def unpack_coalitions(codes: np.ndarray, k: int) -> np.ndarray:
    """Bool masks ``(..., k)`` of coalition codes ``(..., ceil(k / 64))`` (see :func:`pack_coalitions`).

    >>> unpack_coalitions(np.array([[5], [2]], dtype=np.uint64), 3).astype(int).tolist()
    [[1, 0, 1], [0, 1, 0]]
    """
    octets = np.ascontiguousarray(codes, dtype=np.dtype("<u8")).view(np.uint8)
    return np.unpackbits(octets, axis=-1, count=k, bitorder="little").astype(bool)


@lru_cache(maxsize=64)
def _all_codes(k: int, s: int) -> np.ndarray:
    """:func:`_all_units` as coalition codes."""
    out = pack_coalitions(_all_units(k, s))
    out.setflags(write=False)
    return out


@lru_cache(maxsize=256)
def balanced_units(k: int, s: int, n: int) -> np.ndarray:
    """``n`` distinct units of stratum ``s`` (bool ``(n, k)``, read-only) in which every player is a
    member about equally often (counts within 2 of each other) and, after that, every pair of players.

    Chosen greedily: each step takes the unit whose members are in the fewest units so far, ties
    broken by the pairs of members they already share, then by a fixed random order. Relabelled by
    a uniformly random permutation of the players (:func:`_relabelled_codes`), it is a sample in
    which every unit of the stratum has inclusion probability ``n / N``, as in a simple random
    sample of ``n`` of its ``N`` units, so the same weights keep the estimate unbiased; but no
    player is left out or over-represented by chance, and what a player's presence adds to a
    coalition's value no longer enters the error.

    >>> balanced_units(6, 2, 3).sum(axis=0).tolist()  # three disjoint pairs: each player once
    [1, 1, 1, 1, 1, 1]
    """
    units = _all_units(k, s)
    U = units.astype(np.float64)
    shared_pairs = comb(s, 2) * n + 1.0  # larger than any pair score: member counts come first
    score = 0.5 * np.random.default_rng(0).random(units.shape[0])
    chosen = np.empty(n, dtype=np.intp)
    for t in range(n):
        i = int(np.argmin(score))
        chosen[t] = i
        overlap = U @ U[i]  # members each unit shares with the one taken
        score += shared_pairs * overlap + overlap * (overlap - 1.0) / 2.0
        score[i] = np.inf
    out = units[chosen]
    out.setflags(write=False)
    return out


def _relabelled_codes(units: np.ndarray, n_refs: int, rng: np.random.Generator) -> np.ndarray:
    """``units`` (bool ``(n, k)``) with the players relabelled by an independent uniformly random
    permutation for each of ``n_refs`` references: codes ``(n_refs, n, ceil(k / 64))``. A unit of
    the middle stratum is then named by either of its members."""
    k = units.shape[1]
    perms = np.argsort(rng.random((n_refs, k)), axis=1)
    return pack_coalitions(units[:, perms].transpose(1, 0, 2))


def _random_units(k: int, s: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` units of stratum ``s`` drawn uniformly, with replacement."""
    units = unpack_coalitions(draw_subsets(np.full(n, s), k, rng), k)
    if 2 * s == k:  # a unit of the middle stratum is named by its member that holds player 0
        units[~units[:, 0]] ^= True
    return units


def _distinct_units(k: int, s: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """The first ``n`` distinct units of a random sequence over stratum ``s``.

    The sequence depends only on ``rng``, so a larger ``n`` extends a smaller one.
    """
    total = n_units(k, s)
    if total <= _ENUMERATE_LIMIT:
        units = _all_units(k, s)
        return units[rng.permutation(total)[:n]]
    kept: list[np.ndarray] = []
    seen: set[bytes] = set()
    count = 0
    while count < n:
        batch = _random_units(k, s, max(2 * (n - count), 16), rng)
        packed = np.packbits(batch, axis=1)
        for i in range(batch.shape[0]):
            key = packed[i].tobytes()
            if key not in seen:
                seen.add(key)
                kept.append(batch[i])
                count += 1
                if count == n:
                    break
    return np.array(kept, dtype=bool)


@dataclass
class Design:
    """Coalitions to evaluate and how to weight them.

    Attributes
    ----------
    masks : bool (q, k)
        Coalitions, complementary pairs adjacent (rows ``2u`` and ``2u + 1`` form unit ``u``).
    weights : float (q,)
        Estimator weights: kernel weight times inverse inclusion rate.
    unit_group : int (q // 2,)
        Sampling group of each unit; ``-1`` for enumerated units.
    group_fpc : float (n_groups,)
        Finite-population correction of each group (``1 - m/N``, 1 when drawn with replacement).
    exact : bool
        True when every coalition is enumerated (the estimate is then exact).
    """

    masks: np.ndarray
    weights: np.ndarray
    unit_group: np.ndarray
    group_fpc: np.ndarray
    exact: bool = False
    group_sizes: list[int] = field(default_factory=list)

    @cached_property
    def unit_codes(self) -> np.ndarray:
        """Each unit's first coalition as a code (see :func:`pack_coalitions`): uint64 ``(q // 2, W)``."""
        return pack_coalitions(self.masks[0::2])


def _largest_remainder(targets: np.ndarray, total: int) -> np.ndarray:
    base = np.floor(targets).astype(int)
    rest = total - int(base.sum())
    if rest > 0:
        order = np.argsort(-(targets - base), kind="stable")
        base[order[:rest]] += 1
    return base


@dataclass
class _Plan:
    """How a budget of pairs is shared: strata enumerated, sampling groups and their draws."""

    sizes: list[int]
    caps: np.ndarray  # units per stratum
    share: np.ndarray  # budget share per stratum
    enumerated: np.ndarray  # bool per stratum
    groups: list[list[int]]  # strata sampled together
    draws: np.ndarray  # units drawn per group


@lru_cache(maxsize=256)
def _plan(k: int, n_pairs: int, strategy: str) -> _Plan:
    """Share ``n_pairs`` units among the strata of ``k`` players (see the module docstring).

    Cached: every row and every background row of an explanation shares one plan (treat it as
    read-only).
    """
    sizes = stratum_sizes(k)
    caps = np.array([n_units(k, s) for s in sizes], dtype=float)
    share = stratum_shares(k, strategy)
    n_pairs = int(min(n_pairs, caps.sum()))
    # water-filling: strata whose share covers all their units are enumerated; the singletons
    # (and their complements) always are when the budget allows, which makes the regression full rank
    enumerated = np.zeros(len(sizes), dtype=bool)
    enumerated[0] = n_pairs >= caps[0]
    while True:
        free = ~enumerated
        budget = n_pairs - caps[enumerated].sum()
        if not free.any():
            break
        target = budget * share[free] / share[free].sum()
        full = caps[free] <= target + 1e-9
        if not full.any():
            break
        enumerated[np.flatnonzero(free)[full]] = True
    budget = int(round(n_pairs - caps[enumerated].sum()))
    free_idx = np.flatnonzero(~enumerated)
    expected = budget * share[free_idx] / share[free_idx].sum() if free_idx.size else np.zeros(0)

    # pool neighbouring strata until each group expects at least two draws (from the extremes inward)
    groups: list[list[int]] = []
    acc: list[int] = []
    acc_e = 0.0
    for pos, st in enumerate(free_idx):
        acc.append(int(st))
        acc_e += expected[pos]
        if acc_e >= 2.0:
            groups.append(acc)
            acc, acc_e = [], 0.0
    if acc:
        if groups:
            groups[-1].extend(acc)
        else:
            groups.append(acc)

    def allocate(gs: list[list[int]]) -> np.ndarray:
        if not gs:
            return np.zeros(0, dtype=int)
        ge = np.array([expected[np.searchsorted(free_idx, g)].sum() for g in gs])
        return _largest_remainder(ge, budget)

    draws = allocate(groups)
    # a group needs two draws for its variance to be estimated: merge any with one into a neighbour
    while len(groups) > 1 and ((draws > 0) & (draws < 2)).any():
        i = int(np.flatnonzero((draws > 0) & (draws < 2))[0])
        j = i - 1 if i > 0 else i + 1
        lo, hi = min(i, j), max(i, j)
        groups[lo] = groups[lo] + groups[hi]
        del groups[hi]
        draws = allocate(groups)
    # a stratum sampled alone never draws more units than it has
    for gid, members in enumerate(groups):
        if len(members) == 1:
            draws[gid] = int(min(draws[gid], caps[members[0]]))
    for arr in (caps, share, enumerated, draws):
        arr.setflags(write=False)
    return _Plan(sizes, caps, share, enumerated, groups, draws)


def paired_masks(units: np.ndarray) -> np.ndarray:
    """Units ``(..., u, k)`` and their complements, each unit's pair adjacent: bool ``(..., 2u, k)``.

    >>> paired_masks(np.array([[True, False, False]])).astype(int).tolist()
    [[1, 0, 0], [0, 1, 1]]
    """
    out = np.empty((*units.shape[:-2], 2 * units.shape[-2], units.shape[-1]), dtype=bool)
    out[..., 0::2, :] = units
    out[..., 1::2, :] = ~units
    return out


def build_design(k: int, n_pairs: int, strategy: str, rng: np.random.Generator) -> Design:
    """A paired, stratified design of ``n_pairs`` units (``2 * n_pairs`` coalitions) for ``k`` players."""
    plan = _plan(k, n_pairs, strategy)
    sizes, caps, share, enumerated, groups, draws = (
        plan.sizes, plan.caps, plan.share, plan.enumerated, plan.groups, plan.draws
    )
    masks: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    unit_group: list[np.ndarray] = []
    group_fpc = np.ones(len(groups))

    def add(units: np.ndarray, s: int, w_unit: float, gid: int) -> None:
        paired = paired_masks(units)
        masks.append(paired)
        kw = float(kernel_weight(k, s))  # complement has the same kernel weight
        weights.append(np.full(paired.shape[0], kw * w_unit))
        unit_group.append(np.full(units.shape[0], gid))

    for st in np.flatnonzero(enumerated):
        add(_all_units(k, sizes[st]), sizes[st], 1.0, -1)
    for gid, (members, m) in enumerate(zip(groups, draws)):
        if m == 0:
            continue
        if len(members) == 1:
            st = members[0]  # type: ignore[assignment]  # numpy scalar arithmetic
            N = caps[st]
            m = int(min(m, N))
            add(_distinct_units(k, sizes[st], m, rng), sizes[st], N / m, gid)
            group_fpc[gid] = 1.0 - m / N
        else:
            q = share[members] / share[members].sum()
            picks = rng.choice(len(members), size=int(m), p=q)
            for j, st in enumerate(members):  # type: ignore[assignment]  # numpy scalar arithmetic
                cnt = int((picks == j).sum())
                if cnt:
                    scale = caps[st] / q[j]
                    add(_random_units(k, sizes[st], cnt, rng), sizes[st], scale / m, gid)
    if not masks:
        empty = np.zeros((0, k), dtype=bool)
        return Design(empty, np.zeros(0), np.zeros(0, dtype=int), group_fpc, exact=False)
    return Design(
        masks=np.concatenate(masks),
        weights=np.concatenate(weights),
        unit_group=np.concatenate(unit_group),
        group_fpc=group_fpc,
        exact=bool(enumerated.all()),
        group_sizes=[int(x) for x in draws],
    )


# --------------------------------------------------------------------------- one design per background row
@dataclass
class ReferenceDesigns:
    """One paired, stratified design per background row (*reference*), all with the same allocation.

    Attributes
    ----------
    codes : uint64 (m, u, ceil(k / 64))
        Reference ``r``'s units, each given by the code of one member ``S`` (see
        :func:`pack_coalitions`; the pair is ``S`` and its complement).
    n_players : int
        ``k``.
    pair_weights : float (m, u)
        Estimator weight of each member of a pair (kernel weight times inverse inclusion rate).
    unit_group, group_fpc, group_sizes, exact
        As in :class:`Design`; the units of every reference fall in the same groups.
    group_strata : list of tuple of int
        The stratum sizes ``s`` each group draws from (see :func:`stratum_gram`: a unit of group
        ``g`` adds ``sum_{s in g} stratum_gram(k, s) / group_sizes[g]`` to the normal matrix on
        average).
    """

    codes: np.ndarray
    n_players: int
    pair_weights: np.ndarray
    unit_group: np.ndarray
    group_fpc: np.ndarray
    group_sizes: list[int]
    exact: bool = False
    group_strata: list[tuple[int, ...]] = field(default_factory=list)

    @property
    def units(self) -> np.ndarray:
        """The units as bool masks ``(m, u, k)``."""
        return unpack_coalitions(self.codes, self.n_players)

    @property
    def masks(self) -> np.ndarray:
        """Every coalition, complementary pairs adjacent: bool ``(m, 2u, k)``."""
        return paired_masks(self.units)

    @property
    def weights(self) -> np.ndarray:
        """Weight of every coalition of :attr:`masks` ``(m, 2u)``."""
        return np.repeat(self.pair_weights, 2, axis=1)

    def design(self, r: int) -> Design:
        """Reference ``r``'s design on its own.

        >>> designs = build_reference_designs(5, 8, "kernel", 3, np.random.default_rng(0))
        >>> bool((designs.design(2).masks == designs.masks[2]).all())
        True
        """
        return Design(
            masks=paired_masks(unpack_coalitions(self.codes[r], self.n_players)),
            weights=np.repeat(self.pair_weights[r], 2),
            unit_group=np.asarray(self.unit_group),
            group_fpc=np.asarray(self.group_fpc),
            exact=self.exact,
            group_sizes=list(self.group_sizes),
        )


def prefix_masks(orders: np.ndarray) -> np.ndarray:
    """Coalitions met along each order of the players: its first ``1 .. k - 1`` players, ``(..., k - 1, k)``.

    >>> prefix_masks(np.array([[2, 0, 1]])).astype(int)
    array([[[0, 0, 1],
            [1, 0, 1]]])
    """
    orders = np.asarray(orders)
    k = orders.shape[-1]
    rank = np.empty_like(orders)
    np.put_along_axis(rank, orders, np.broadcast_to(np.arange(k), orders.shape), axis=-1)
    return rank[..., None, :] < np.arange(1, k)[:, None]


def is_exhaustive(k: int, n_pairs: int) -> bool:
    """True when ``n_pairs`` units enumerate every coalition of ``k`` players."""
    return bool(_plan(k, n_pairs, "kernel").enumerated.all())


def _dealt_codes(k: int, s: int, n: int, n_refs: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct units of stratum ``s`` for each of ``n_refs`` references, as codes ``(n_refs, n, W)``,
    dealt from a stream of permutations of the stratum (see :func:`dealt_indices`)."""
    idx = dealt_indices(n_units(k, s), n, n_refs, int(rng.integers(0, 2**32 - 1)))
    return _all_codes(k, s)[idx]


def build_reference_designs(
    k: int, n_pairs: int, strategy: str, n_refs: int, rng: np.random.Generator, *, balanced: bool = False
) -> ReferenceDesigns:
    """A design of ``n_pairs`` units for each of ``n_refs`` references (see :func:`build_design`).

    Enumerated strata are the same for every reference; sampled units are drawn per reference:
    dealt out so that the references together cover each stratum evenly (strata of up to
    ``_ENUMERATE_LIMIT`` units), or drawn with replacement from larger strata (a unit of the
    middle stratum is then named by either of its members). With ``balanced``, a stratum of up to
    ``_BALANCE_LIMIT`` units sampled alone gets a balanced design (:func:`balanced_units`) relabelled
    at random for each reference instead: the same inclusion probabilities, less spread.
    """
    plan = _plan(k, n_pairs, strategy)
    n_words = max(1, -(-k // 64))
    unit_codes: list[np.ndarray] = []  # (n_refs, u, n_words)
    unit_weights: list[np.ndarray] = []  # (n_refs, u)
    unit_group: list[np.ndarray] = []
    group_fpc = np.ones(len(plan.groups))
    sizes = np.asarray(plan.sizes)
    kw = np.asarray(kernel_weight(k, sizes), dtype=float)
    for st in np.flatnonzero(plan.enumerated):
        codes = _all_codes(k, plan.sizes[st])
        unit_codes.append(np.broadcast_to(codes, (n_refs, *codes.shape)))
        unit_weights.append(np.full((n_refs, codes.shape[0]), kw[st]))
        unit_group.append(np.full(codes.shape[0], -1))
    for gid, (members, m) in enumerate(zip(plan.groups, plan.draws)):
        m = int(m)
        if m == 0:
            continue
        if len(members) == 1:
            st = members[0]  # type: ignore[assignment]  # numpy scalar arithmetic
            N, s = plan.caps[st], plan.sizes[st]
            if balanced and N <= _BALANCE_LIMIT:
                unit_codes.append(_relabelled_codes(balanced_units(k, s, m), n_refs, rng))
                group_fpc[gid] = 1.0 - m / N
            elif N <= _ENUMERATE_LIMIT:
                unit_codes.append(_dealt_codes(k, s, m, n_refs, rng))
                group_fpc[gid] = 1.0 - m / N
            else:  # with replacement: repeats are rare (about m**2 / 2N per reference) and cost no bias
                unit_codes.append(draw_subsets(np.full(m * n_refs, s), k, rng).reshape(n_refs, m, n_words))
            unit_weights.append(np.full((n_refs, m), kw[st] * N / m))
        else:
            q = plan.share[members] / plan.share[members].sum()
            picks = rng.choice(len(members), size=(n_refs, m), p=q)
            strata = np.asarray(members)[picks]
            unit_codes.append(draw_subsets(sizes[strata].ravel(), k, rng).reshape(n_refs, m, n_words))
            unit_weights.append(kw[strata] * plan.caps[strata] / q[picks] / m)
        unit_group.append(np.full(m, gid))
    if not unit_codes:
        return ReferenceDesigns(
            np.zeros((n_refs, 0, n_words), dtype=np.uint64), k, np.zeros((n_refs, 0)), np.zeros(0, dtype=int), group_fpc, []
        )
    return ReferenceDesigns(
        codes=np.concatenate(unit_codes, axis=1),
        n_players=k,
        pair_weights=np.concatenate(unit_weights, axis=1),  # a complement has its unit's kernel weight
        unit_group=np.concatenate(unit_group),
        group_fpc=group_fpc,
        group_sizes=[int(x) for x in plan.draws],
        exact=bool(plan.enumerated.all()),
        group_strata=[tuple(int(plan.sizes[st]) for st in members) for members in plan.groups],
    )
