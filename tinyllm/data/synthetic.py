"""Synthetic data whose best achievable score is known exactly: sentiment that needs word order, Markov text.

``synthetic_sentiment`` writes short reviews whose label is fixed by word order, so
an order-aware model can approach the Bayes accuracy 1 - noise while any
bag-of-words model is capped at a lower, exactly computed accuracy.
``markov_text`` samples characters from a random k-th order Markov source whose
entropy rate — the lowest cross-entropy any model can reach — is computed exactly.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy

from tinyllm.data.checks import check_seed
from tinyllm.data.datasets import LabeledTexts

NOUNS = ("plot", "acting", "music", "ending", "story", "cast")
VERBS = ("was", "felt", "seemed")
INTENSIFIERS = ("very", "really", "truly", "quite", "so")
POSITIVE = ("good", "great", "fun", "moving", "brilliant", "charming")
NEGATIVE = ("bad", "dull", "boring", "awful", "weak", "clumsy")
SENTIMENT_VOCABULARY = ("the", "not", "but") + NOUNS + VERBS + INTENSIFIERS + POSITIVE + NEGATIVE
SENTIMENT_MAX_TOKENS = 13  # two clauses of at most 6 tokens, and "but"


def _check_probability(fn: str, name: str, value: float, high: float = 1.0) -> None:
    if not 0.0 <= value <= high:
        raise ValueError(f"{fn}: {name} must be in [0, {high}], not {value}")


def synthetic_sentiment(n: int, seed: int = 0, noise: float = 0.1, contrast: float = 0.75,
                        negation: float = 0.3, intensifier: float = 0.3) -> LabeledTexts:  # fmt: skip
    """``n`` short movie reviews, classes ["negative", "positive"], labelled by a rule on word order.

    Grammar (lowercase words joined by single spaces, no punctuation, at most 13 tokens):

        review      := clause                     with probability 1 - contrast
                     | clause "but" clause        with probability contrast
        clause      := "the" NOUN VERB ["not"] [INTENSIFIER] ADJECTIVE
        NOUN        := plot | acting | music | ending | story | cast
        VERB        := was | felt | seemed
        INTENSIFIER := very | really | truly | quite | so
        ADJECTIVE   := POSITIVE | NEGATIVE
        POSITIVE    := good | great | fun | moving | brilliant | charming
        NEGATIVE    := bad | dull | boring | awful | weak | clumsy

    The rule (the noise-free label): a clause's polarity is +1 if its adjective is
    POSITIVE and -1 if NEGATIVE, times -1 when the clause contains "not"; intensifiers,
    nouns and verbs do not matter. The review's label is the polarity of its last
    clause — the one after "but" when there is one, else the only clause
    (+1 -> "positive" = 1, -1 -> "negative" = 0).

    Sampling: the label s is +1 or -1 with probability 1/2 each. A one-clause review
    is clause(s); a two-clause review is clause(-s) "but" clause(s), so the clauses
    always contrast. clause(p) draws "not" with probability ``negation``, then an
    adjective uniformly from the set of polarity p (flipped when negated), an
    intensifier with probability ``intensifier`` (uniformly), a noun and a verb
    uniformly. Finally each label is flipped with probability ``noise`` in [0, 0.5].

    Best accuracies (both in ``info``):

    - bayes_accuracy = 1 - noise: the rule is a function of the text, and the
      observed label agrees with it with probability 1 - noise.
    - bow_accuracy_limit = (1 - contrast)(1 - noise) + contrast / 2, the best any
      function of the word counts can do. A one-clause review has no "but" and its
      words decide its label (accuracy 1 - noise). A two-clause review (a, b) and
      its swap (b, a) have the same words, opposite labels and the same probability,
      1/2 q(a) q(b) with q(c) the chance of drawing clause c given its polarity; swapping
      pairs up every two-clause review with a given multiset of words, so
      P(label = positive | words) = 1/2 exactly and no guess beats 1/2 there.

    Deterministic for a seed (``numpy.random.default_rng(seed)``).
    """
    fn = "synthetic_sentiment"
    if not isinstance(n, (int, numpy.integer)) or n < 0:
        raise ValueError(f"{fn}: n must be a non-negative integer, not {n!r}")
    _check_probability(fn, "noise", noise, high=0.5)
    for name, value in (("contrast", contrast), ("negation", negation), ("intensifier", intensifier)):
        _check_probability(fn, name, value)
    check_seed(fn, seed)
    rng = numpy.random.default_rng(seed)

    def clause(polarity: int) -> str:
        negated = rng.random() < negation
        adjectives = POSITIVE if polarity * (-1 if negated else 1) > 0 else NEGATIVE
        words = ["the", NOUNS[rng.integers(len(NOUNS))], VERBS[rng.integers(len(VERBS))]]
        if negated:
            words.append("not")
        if rng.random() < intensifier:
            words.append(INTENSIFIERS[rng.integers(len(INTENSIFIERS))])
        words.append(adjectives[rng.integers(len(adjectives))])
        return " ".join(words)

    texts, labels = [], numpy.empty(n, dtype=numpy.int64)
    for i in range(n):
        s = 1 if rng.random() < 0.5 else -1
        texts.append(f"{clause(-s)} but {clause(s)}" if rng.random() < contrast else clause(s))
        labels[i] = (s > 0) != (rng.random() < noise)
    info = {
        "source": fn, "seed": seed, "noise": noise, "contrast": contrast, "negation": negation,
        "intensifier": intensifier, "bayes_accuracy": 1.0 - noise,
        "bow_accuracy_limit": (1.0 - contrast) * (1.0 - noise) + contrast / 2,
        "vocabulary": list(SENTIMENT_VOCABULARY), "max_tokens": SENTIMENT_MAX_TOKENS,
    }  # fmt: skip
    return LabeledTexts(texts, labels, ["negative", "positive"], info)


@dataclass(frozen=True)
class MarkovText:
    """A sample from a k-th order Markov source over characters, with the source's exact statistics.

    Contexts are the last ``order`` characters, numbered in base A = len(alphabet)
    with the oldest character most significant: c = sum_j x_{t-k+j} A^(k-1-j), so
    context c followed by character a becomes c' = (c A + a) mod A^k.

    text: the sample (str); alphabet: its characters (str, A of them);
    transition: (A^order, A), row c is P(next char | context c);
    stationary: (A^order,) the stationary distribution pi of contexts;
    entropy_rate: h = sum_c pi(c) H(P(.|c)), H(p) = -sum_a p_a ln p_a, in nats per
    character: the lowest cross-entropy any model of this source can reach.
    """

    text: str
    alphabet: str
    order: int
    transition: numpy.ndarray
    stationary: numpy.ndarray
    entropy_rate: float

    @property
    def bits_per_char(self) -> float:
        """The entropy rate in bits per character: h / ln 2."""
        return self.entropy_rate / math.log(2)


def _table_shape(transition: numpy.ndarray, fn: str) -> tuple[int, int, int]:
    """(K, A, order) of a transition table, checked: K = A^order rows, each a distribution."""
    if transition.ndim != 2 or transition.shape[1] < 1:
        raise ValueError(f"{fn}: transition must have shape (A^order, A), not {transition.shape}")
    k, a = transition.shape
    order = 0 if k == 1 else round(math.log(k, a)) if a > 1 else -1
    if order < 0 or a**order != k:
        raise ValueError(f"{fn}: transition has {k} rows, which is not a power of A = {a}")
    if transition.min() < 0 or not numpy.allclose(transition.sum(axis=1), 1.0):
        raise ValueError(f"{fn}: each row of transition must be a probability distribution")
    return k, a, order


def _context_step(pi: numpy.ndarray, transition: numpy.ndarray) -> numpy.ndarray:
    """pi M for the context chain, in O(K A): with c = h A^(k-1) + r (h the oldest char),
    (pi M)[r A + a] = sum_h pi[h A^(k-1) + r] P(a | c)."""
    k, a = transition.shape
    if k == 1:
        return pi.copy()
    return numpy.einsum("hr,hra->ra", pi.reshape(a, k // a), transition.reshape(a, k // a, a)).ravel()


def context_stationary(transition: numpy.ndarray) -> numpy.ndarray:
    """The stationary distribution pi (K,) of the contexts of a transition table (K, A), K = A^order.

    The context chain's matrix is M[c, c'] = sum of P(a|c) over the a with
    (c A + a) mod K = c', and pi solves pi M = pi with sum pi = 1: the left
    eigenvector of M for eigenvalue 1. For K <= 2048 that linear system is solved
    directly (one balance equation, redundant, replaced by the sum); for larger K by
    power iteration pi <- pi M from the uniform distribution, which converges when
    the chain is irreducible and aperiodic (e.g. when every P(a|c) > 0). Raises
    ValueError when no unique pi is found (a reducible or, for large K, periodic chain).
    """
    p = numpy.asarray(transition, dtype=numpy.float64)
    k, a, _ = _table_shape(p, "context_stationary")
    if k <= 2048:
        m = numpy.zeros((k, k))
        rows = numpy.repeat(numpy.arange(k), a)
        numpy.add.at(m, (rows, (rows * a + numpy.tile(numpy.arange(a), k)) % k), p.ravel())
        system = (m - numpy.eye(k)).T
        system[-1] = 1.0  # the K balance equations sum to 0 = 0: one is redundant, sum pi = 1 replaces it
        rhs = numpy.zeros(k)
        rhs[-1] = 1.0
        try:
            pi = numpy.linalg.solve(system, rhs)
        except numpy.linalg.LinAlgError:
            pi = numpy.full(k, numpy.nan)
    else:
        pi = numpy.full(k, 1.0 / k)
        for _ in range(100_000):
            pi, previous = _context_step(pi, p), pi
            if numpy.abs(pi - previous).sum() < 1e-14:
                break
    if not numpy.isfinite(pi).all() or pi.min() < -1e-9 or numpy.abs(_context_step(pi, p) - pi).sum() > 1e-9:
        raise ValueError(f"context_stationary: no unique stationary distribution over the {k} contexts "
                         "(the context chain is reducible or periodic)")  # fmt: skip
    pi = numpy.clip(pi, 0.0, None)
    return pi / pi.sum()


def markov_entropy_rate(transition: numpy.ndarray, stationary: numpy.ndarray) -> float:
    """h = sum_c pi(c) H(P(.|c)) in nats per character, with 0 ln 0 = 0."""
    p = numpy.asarray(transition, dtype=numpy.float64)
    plogp = numpy.where(p > 0, p * numpy.log(numpy.where(p > 0, p, 1.0)), 0.0)
    return float(numpy.asarray(stationary, dtype=numpy.float64) @ -plogp.sum(axis=1))


def sample_markov_text(transition: numpy.ndarray, alphabet: str, n_chars: int, seed: int = 0) -> MarkovText:
    """``n_chars`` characters from the Markov source with this transition table (A^order, A).

    The first ``order`` characters are a context drawn from the stationary
    distribution, so every position of the sample has the stationary law; each
    next character is drawn by inverse CDF: the a with F(a-1) <= u < F(a), F the
    cumulative row of the current context and u uniform in [0, 1) (all u drawn at once).
    """
    fn = "sample_markov_text"
    p = numpy.asarray(transition, dtype=numpy.float64)
    k, a, order = _table_shape(p, fn)
    if len(alphabet) != a or len(set(alphabet)) != a:
        raise ValueError(f"{fn}: alphabet {alphabet!r} must have {a} distinct characters, one per column")
    if n_chars < 0:
        raise ValueError(f"{fn}: n_chars must be >= 0, not {n_chars}")
    rng = numpy.random.default_rng(seed)
    pi = context_stationary(p)
    c = min(int(numpy.searchsorted(numpy.cumsum(pi), rng.random(), side="right")), k - 1)
    ids = [c // a ** (order - 1 - j) % a for j in range(order)][:n_chars]
    u = rng.random(max(n_chars - order, 0))
    bounds = numpy.cumsum(p, axis=1)[:, :-1]  # F(0..A-2); the last char takes u >= F(A-2)
    if order == 0:
        ids = numpy.searchsorted(bounds[0], u, side="right").tolist()
    else:
        rows = bounds.tolist()
        for ut in u.tolist():  # sequential by nature: a tight loop over precomputed tables
            x = bisect.bisect_right(rows[c], ut)
            ids.append(x)
            c = (c * a + x) % k
    text = "".join([alphabet[i] for i in ids])
    return MarkovText(text, alphabet, order, p, pi, markov_entropy_rate(p, pi))


DEFAULT_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def markov_text(order: int, alphabet: str | int, n_chars: int, seed: int = 0,
                concentration: float = 0.5) -> MarkovText:  # fmt: skip
    """``n_chars`` characters from a random ``order``-th order Markov source over ``alphabet``.

    ``alphabet`` is a string of A >= 2 distinct characters, or the size A (the first
    A of a-z, A-Z, 0-9). For each of the A^order contexts the next-character
    distribution is drawn from a symmetric Dirichlet, P(.|c) ~ Dir(alpha, ..., alpha)
    with alpha = ``concentration``: alpha = 1 is uniform over the simplex, alpha -> 0
    puts the mass on few characters (low entropy), alpha -> inf approaches the
    uniform distribution (entropy ln A). It is then mixed with the uniform
    distribution at weight 1e-9, so every transition is possible and the stationary
    distribution is unique. ``order`` = 0 gives i.i.d. characters. Deterministic for
    a seed; see ``sample_markov_text`` for the sampling and ``MarkovText`` for what
    comes back (the exact stationary distribution and entropy rate).
    """
    fn = "markov_text"
    if isinstance(alphabet, (int, numpy.integer)):
        if not 2 <= alphabet <= len(DEFAULT_ALPHABET):
            raise ValueError(f"{fn}: alphabet size must be in [2, {len(DEFAULT_ALPHABET)}], not {alphabet}")
        alphabet = DEFAULT_ALPHABET[:alphabet]
    if len(alphabet) < 2 or len(set(alphabet)) != len(alphabet):
        raise ValueError(f"{fn}: alphabet must have at least 2 characters, all distinct, not {alphabet!r}")
    if not isinstance(order, (int, numpy.integer)) or order < 0:
        raise ValueError(f"{fn}: order must be a non-negative integer, not {order!r}")
    a = len(alphabet)
    if a**order * a > 2**24:
        raise ValueError(
            f"{fn}: {a}^{order} contexts x {a} characters is too large a table (max 2^24 entries)"
        )
    if not concentration > 0:
        raise ValueError(f"{fn}: concentration must be > 0, not {concentration}")
    check_seed(fn, seed)
    rng = numpy.random.default_rng(seed)
    transition = rng.dirichlet(numpy.full(a, float(concentration)), size=a**order)
    transition = (1 - 1e-9) * transition + 1e-9 / a
    return sample_markov_text(transition, alphabet, n_chars, seed=int(rng.integers(2**63)))
