"""Synthetic sources: the sentiment rule, its noise and its bag-of-words limit; Markov text and its entropy rate."""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict

import numpy as np
import pytest

import tinyllm as tl
from tinyllm.data import MarkovText, markov_text, synthetic_sentiment
from tinyllm.data.synthetic import context_stationary, markov_entropy_rate, sample_markov_text
from tinyllm.models import TextClassifier

# ----------------------------------------------------------------------------- sentiment helpers

POSITIVE = {"good", "great", "fun", "moving", "brilliant", "charming"}
NEGATIVE = {"bad", "dull", "boring", "awful", "weak", "clumsy"}


def _clause_polarity(words: list[str]) -> int:
    """The docstring's rule, written again: +1/-1 by the adjective, flipped by a "not"."""
    adjectives = [w for w in words if w in POSITIVE | NEGATIVE]
    assert len(adjectives) == 1, words
    sign = 1 if adjectives[0] in POSITIVE else -1
    return -sign if "not" in words else sign


def _clauses(text: str) -> list[list[str]]:
    clauses: list[list[str]] = [[]]
    for w in text.split(" "):
        if w == "but":
            clauses.append([])
        else:
            clauses[-1].append(w)
    return clauses


def _rule_label(text: str) -> int:
    return int(_clause_polarity(_clauses(text)[-1]) > 0)


def _margin(n: int, p: float = 0.5, sigmas: float = 4.0) -> float:
    """sigmas standard deviations of a binomial fraction over n trials."""
    return sigmas * math.sqrt(p * (1 - p) / n)


def _encode(texts: list[str], vocab: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Word ids (B, T), padded with 0, and lengths (B,)."""
    tokens = [t.split(" ") for t in texts]
    lengths = np.array([len(t) for t in tokens])
    ids = np.zeros((len(tokens), lengths.max()), dtype=np.int64)
    for i, t in enumerate(tokens):
        ids[i, : len(t)] = [vocab[w] for w in t]
    return ids, lengths


def _vocab(texts: list[str]) -> dict[str, int]:
    return {w: i + 1 for i, w in enumerate(sorted({w for t in texts for w in t.split(" ")}))}


def _train(model: tl.nn.Module, ids: np.ndarray, lengths: np.ndarray, labels: np.ndarray, epochs: int,
           lr: float, batch: int = 32, seed: int = 0) -> None:  # fmt: skip
    opt = tl.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(labels))
        for start in range(0, len(labels), batch):
            idx = order[start : start + batch]
            loss = tl.nn.functional.cross_entropy(model(tl.tensor(ids[idx]), tl.tensor(lengths[idx])),
                                                  tl.tensor(labels[idx]))  # fmt: skip
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()


def _accuracy(model: tl.nn.Module, ids: np.ndarray, lengths: np.ndarray, labels: np.ndarray) -> float:
    with tl.no_grad():
        return float((model(tl.tensor(ids), tl.tensor(lengths)).numpy().argmax(axis=1) == labels).mean())


# ----------------------------------------------------------------------------- sentiment: the generator


def test_sentiment_is_deterministic_for_a_seed_and_seeds_differ() -> None:
    a, b, c = (
        synthetic_sentiment(200, seed=3),
        synthetic_sentiment(200, seed=3),
        synthetic_sentiment(200, seed=4),
    )
    assert a.texts == b.texts and np.array_equal(a.labels, b.labels)
    assert a.texts != c.texts
    assert a.classes == ["negative", "positive"]


def test_sentiment_follows_the_grammar_and_balances_the_labels() -> None:
    data = synthetic_sentiment(4000, seed=0, noise=0.0)
    vocabulary = set(data.info["vocabulary"])
    assert len(vocabulary) <= 40
    for text in data.texts:
        words = text.split(" ")
        assert set(words) <= vocabulary and len(words) <= data.info["max_tokens"] == 13
        clauses = _clauses(text)
        assert len(clauses) in (1, 2) and all(c[0] == "the" for c in clauses)
        if len(clauses) == 2:  # "but" always joins clauses of opposite polarity
            assert _clause_polarity(clauses[0]) == -_clause_polarity(clauses[1])
    assert abs(data.labels.mean() - 0.5) < _margin(len(data))
    two_clause = np.mean([" but " in t for t in data.texts])
    assert abs(two_clause - 0.75) < _margin(len(data), 0.75)
    assert not any(" but " in t for t in synthetic_sentiment(300, contrast=0.0).texts)
    assert all(" but " in t for t in synthetic_sentiment(300, contrast=1.0).texts)


def test_noise_free_labels_follow_the_documented_rule() -> None:
    data = synthetic_sentiment(3000, seed=1, noise=0.0)
    assert [_rule_label(t) for t in data.texts] == data.labels.tolist()
    # the rule needs order: the last clause's "not" and adjective decide, whatever the first clause says
    assert any("not" in _clauses(t)[0] and "not" not in _clauses(t)[-1] for t in data.texts)


@pytest.mark.parametrize("noise", [0.05, 0.2])
def test_noise_flips_about_that_fraction_of_labels(noise: float) -> None:
    data = synthetic_sentiment(5000, seed=2, noise=noise)
    flipped = np.mean([_rule_label(t) != y for t, y in data])
    assert abs(flipped - noise) < _margin(len(data), noise)
    assert data.info["noise"] == noise and data.info["bayes_accuracy"] == pytest.approx(1 - noise)


def test_sentiment_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match=r"synthetic_sentiment: noise must be in \[0, 0.5\]"):
        synthetic_sentiment(10, noise=0.6)
    with pytest.raises(ValueError, match="synthetic_sentiment: contrast must be in"):
        synthetic_sentiment(10, contrast=1.5)
    with pytest.raises(ValueError, match="synthetic_sentiment: n must be a non-negative integer"):
        synthetic_sentiment(-1)


# ----------------------------------------------------------------------------- sentiment: what models can reach


def _exact_bow_limit(contrast: float, negation: float, intensifier: float, noise: float) -> float:
    """The best accuracy of any function of word counts, by enumerating every review of a small
    version of the grammar (2 nouns, 1 verb, 2 intensifiers, 2 adjectives per polarity)."""
    nouns, verbs, intensifiers = ["plot", "cast"], ["was"], ["very", "so"]
    adjectives = {1: ["good", "fun"], -1: ["bad", "dull"]}

    def clauses(polarity: int) -> list[tuple[tuple[str, ...], float]]:
        out = []
        for negated, noun, verb in itertools.product([False, True], nouns, verbs):
            adjs = adjectives[-polarity if negated else polarity]
            for intens, adj in itertools.product([None, *intensifiers], adjs):
                p = (negation if negated else 1 - negation) / len(nouns) / len(verbs) / len(adjs)
                p *= (intensifier / len(intensifiers)) if intens else (1 - intensifier)
                words = (
                    ("the", noun, verb)
                    + (("not",) if negated else ())
                    + ((intens,) if intens else ())
                    + (adj,)
                )
                out.append((words, p))
        return out

    joint: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0])  # bag of words -> P(bag, label)
    for s in (1, -1):
        for words, p in clauses(s):
            joint[tuple(sorted(Counter(words).items()))][s > 0] += 0.5 * (1 - contrast) * p
        for (w1, p1), (w2, p2) in itertools.product(clauses(-s), clauses(s)):
            joint[tuple(sorted(Counter(w1 + ("but",) + w2).items()))][s > 0] += 0.5 * contrast * p1 * p2
    assert sum(sum(v) for v in joint.values()) == pytest.approx(1.0)
    noisy = [
        ((1 - noise) * neg + noise * pos, (1 - noise) * pos + noise * neg) for neg, pos in joint.values()
    ]
    return sum(max(v) for v in noisy)


@pytest.mark.parametrize(
    "contrast,negation,intensifier,noise", [(0.75, 0.3, 0.3, 0.1), (0.4, 0.5, 0.0, 0.0), (1.0, 0.2, 0.6, 0.25)]
)
def test_bow_limit_equals_an_exact_enumeration_of_the_grammar(contrast: float, negation: float,
                                                              intensifier: float, noise: float) -> None:  # fmt: skip
    info = synthetic_sentiment(
        0, noise=noise, contrast=contrast, negation=negation, intensifier=intensifier
    ).info
    assert info["bow_accuracy_limit"] == pytest.approx(
        _exact_bow_limit(contrast, negation, intensifier, noise)
    )


def test_a_majority_vote_over_word_counts_reaches_the_bow_limit_and_no_further() -> None:
    # the counts of "not", "but" and each adjective: a function of the bag of words rich enough to reach the limit
    def key(text: str) -> tuple:
        counts = Counter(text.split(" "))
        return tuple(counts[w] for w in ["not", "but", *sorted(POSITIVE | NEGATIVE)])

    train, test = synthetic_sentiment(20000, seed=5), synthetic_sentiment(4000, seed=6)
    votes: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for text, y in train:
        votes[key(text)][y] += 1
    predictions = np.array([int(np.argmax(votes[key(t)])) for t in test.texts])
    accuracy = float((predictions == test.labels).mean())
    assert test.info["bow_accuracy_limit"] == pytest.approx(0.6)
    assert abs(accuracy - test.info["bow_accuracy_limit"]) < _margin(len(test))


class BagOfWords(tl.nn.Module):
    """Mean of the word embeddings -> Linear (logistic regression), or -> Linear, ReLU, Linear (an MLP):
    either way a function of the word counts alone."""

    def __init__(self, vocab_size: int, dim: int, hidden: int = 0) -> None:
        super().__init__()
        self.embedding = tl.nn.Embedding(vocab_size, dim, padding_idx=0)
        layers = (
            [tl.nn.Linear(dim, hidden), tl.nn.ReLU(), tl.nn.Linear(hidden, 2)]
            if hidden
            else [tl.nn.Linear(dim, 2)]
        )
        self.head = tl.nn.Sequential(*layers)

    def forward(self, ids: tl.Tensor, lengths: tl.Tensor) -> tl.Tensor:
        return self.head(self.embedding(ids).sum(1) / lengths.reshape(-1, 1).float())


@pytest.mark.parametrize("hidden", [0, 32], ids=["logistic_regression", "mlp"])
def test_bag_of_words_models_stay_below_the_bow_limit(hidden: int) -> None:
    train, val = synthetic_sentiment(3000, seed=7, noise=0.0), synthetic_sentiment(4000, seed=8, noise=0.0)
    limit = val.info["bow_accuracy_limit"]
    assert limit <= val.info["bayes_accuracy"] - 0.3  # 0.625 against 1.0
    vocab = _vocab(train.texts + val.texts)
    model = BagOfWords(len(vocab) + 1, 16, hidden)
    _train(model, *_encode(train.texts, vocab), train.labels, epochs=5, lr=0.01)
    accuracy = _accuracy(model, *_encode(val.texts, vocab), val.labels)
    assert accuracy < limit + _margin(len(val))
    if hidden:  # the MLP learns the one-clause reviews (adjective XOR "not"), so it reaches the limit
        assert accuracy > limit - _margin(len(val))


def test_lstm_classifier_comes_close_to_the_bayes_accuracy() -> None:
    # seeds 0-5 all pass: val accuracy 0.943-0.953 (each seed at its own 1 - noise), rule accuracy >= 0.995
    seed = 0
    train, val = (
        synthetic_sentiment(2000, seed=seed, noise=0.05),
        synthetic_sentiment(2000, seed=seed + 100, noise=0.05),
    )
    vocab = _vocab(train.texts + val.texts)
    tl.manual_seed(seed)
    model = TextClassifier(len(vocab) + 1, 16, 32, 2, padding_idx=0)
    _train(model, *_encode(train.texts, vocab), train.labels, epochs=4, lr=0.01, seed=seed)
    val_ids, val_lengths = _encode(val.texts, vocab)
    accuracy = _accuracy(model, val_ids, val_lengths, val.labels)
    assert accuracy > val.info["bayes_accuracy"] - 0.03
    assert accuracy > val.info["bow_accuracy_limit"] + 0.3
    rule = np.array([_rule_label(t) for t in val.texts])
    assert _accuracy(model, val_ids, val_lengths, rule) > 0.98  # it learned the rule, not the noise


# ----------------------------------------------------------------------------- Markov text


def _plug_in_entropy_rate(ids: np.ndarray, n_symbols: int, order: int) -> float:
    """sum_c (n_c / N) H(empirical next-char distribution after c), in nats."""
    counts: dict[tuple, np.ndarray] = defaultdict(lambda: np.zeros(n_symbols))
    for t in range(order, len(ids)):
        counts[tuple(ids[t - order : t])][ids[t]] += 1
    total = len(ids) - order
    h = 0.0
    for row in counts.values():
        p = row[row > 0] / row.sum()
        h -= row.sum() / total * float((p * np.log(p)).sum())
    return h


def test_markov_text_is_deterministic_for_a_seed_and_seeds_differ() -> None:
    a, b, c = markov_text(2, 4, 500, seed=1), markov_text(2, 4, 500, seed=1), markov_text(2, 4, 500, seed=2)
    assert a.text == b.text and np.array_equal(a.transition, b.transition)
    assert a.text != c.text and not np.allclose(a.transition, c.transition)
    assert len(a.text) == 500 and set(a.text) <= set("abcd") and a.alphabet == "abcd" and a.order == 2
    assert a.transition.shape == (16, 4) and a.stationary.shape == (16,)
    assert markov_text(1, "xyz", 50).alphabet == "xyz" and set(markov_text(1, "xyz", 50).text) <= set("xyz")


@pytest.mark.parametrize("order,size", [(1, 3), (2, 4)])
def test_entropy_rate_matches_a_plug_in_estimate_from_a_long_sample(order: int, size: int) -> None:
    source = markov_text(order, size, 200_000, seed=order, concentration=0.5)
    ids = np.array([source.alphabet.index(ch) for ch in source.text])
    estimate = _plug_in_entropy_rate(ids, size, order)
    # the plug-in estimate is low by about (K (A - 1)) / 2N (Miller-Madow) and scatters by
    # about sd(-ln P(x | c)) / sqrt(N); 6 of those leave room for the dependence between samples
    surprisal = -np.log(source.transition[_contexts(ids, size, order), ids[order:]])
    bias = size**order * (size - 1) / (2 * len(ids))
    assert abs(estimate + bias - source.entropy_rate) < 6 * surprisal.std() / math.sqrt(len(ids))
    assert abs(surprisal.mean() - source.entropy_rate) < 6 * surprisal.std() / math.sqrt(len(ids))
    assert source.bits_per_char == pytest.approx(source.entropy_rate / math.log(2))


def _contexts(ids: np.ndarray, size: int, order: int) -> np.ndarray:
    """Context numbers c_t = sum_j ids[t - order + j] size^(order - 1 - j), for t = order .. N-1."""
    c = np.zeros(len(ids) - order, dtype=np.int64)
    for j in range(order):
        c = c * size + ids[j : len(ids) - order + j]
    return c


@pytest.mark.parametrize(
    "order,size", [(1, 5), (2, 3), (3, 4), (4, 8)]
)  # 8^4 = 4096 contexts: power iteration
def test_stationary_distribution_is_stationary_and_sums_to_one(order: int, size: int) -> None:
    source = markov_text(order, size, 10, seed=0, concentration=0.3)
    pi, p, k = source.stationary, source.transition, size**order
    m = np.zeros((k, k))
    for c, a in itertools.product(range(k), range(size)):
        m[c, (c * size + a) % k] += p[c, a]
    assert pi.sum() == pytest.approx(1.0) and pi.min() >= 0
    np.testing.assert_allclose(pi @ m, pi, atol=1e-12)


def test_order_zero_is_iid_with_the_entropy_of_the_char_distribution() -> None:
    source = markov_text(0, 6, 100_000, seed=3, concentration=0.5)
    q = source.transition[0]
    assert source.transition.shape == (1, 6) and source.stationary.tolist() == [1.0]
    assert source.entropy_rate == pytest.approx(-(q * np.log(q)).sum())
    freq = np.array([source.text.count(ch) for ch in source.alphabet]) / len(source.text)
    assert np.abs(freq - q).max() < 4 * math.sqrt(0.25 / len(source.text))


def test_hand_built_tables_have_the_entropy_rates_worked_out_by_hand() -> None:
    cycle = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])  # a -> b -> c -> a
    source = sample_markov_text(cycle, "abc", 9, seed=0)
    assert source.entropy_rate == 0.0 and source.order == 1
    np.testing.assert_allclose(source.stationary, [1 / 3] * 3)
    assert source.text in {"abcabcabc", "bcabcabca", "cabcabcab"}
    uniform = np.full((9, 3), 1 / 3)  # order 2: every context, every next char equally likely
    source = sample_markov_text(uniform, "abc", 100, seed=0)
    assert source.entropy_rate == pytest.approx(math.log(3)) and source.bits_per_char == pytest.approx(
        math.log2(3)
    )
    np.testing.assert_allclose(source.stationary, [1 / 9] * 9)
    # two contexts that each only lead to themselves: no unique stationary distribution
    with pytest.raises(ValueError, match="context_stationary: no unique stationary distribution"):
        context_stationary(np.eye(2))


def test_the_sample_starts_from_the_stationary_distribution() -> None:
    table = np.array([[0.9, 0.1], [0.5, 0.5]])  # pi = (5/6, 1/6)
    np.testing.assert_allclose(context_stationary(table), [5 / 6, 1 / 6])
    firsts = np.array([sample_markov_text(table, "ab", 1, seed=s).text == "a" for s in range(2000)])
    assert abs(firsts.mean() - 5 / 6) < _margin(2000, 5 / 6)


def test_markov_entropy_rate_is_the_stationary_average_of_row_entropies() -> None:
    table = np.array([[0.5, 0.5], [1.0, 0.0]])  # pi = (2/3, 1/3), rows carry ln 2 and 0 nats
    assert markov_entropy_rate(table, context_stationary(table)) == pytest.approx(2 / 3 * math.log(2))


def test_markov_text_rejects_bad_arguments() -> None:
    with pytest.raises(
        ValueError, match="markov_text: alphabet must have at least 2 characters, all distinct"
    ):
        markov_text(1, "aab", 10)
    with pytest.raises(ValueError, match="markov_text: order must be a non-negative integer"):
        markov_text(-1, 4, 10)
    with pytest.raises(ValueError, match="markov_text: concentration must be > 0"):
        markov_text(1, 4, 10, concentration=0.0)
    with pytest.raises(
        ValueError, match="sample_markov_text: transition has 5 rows, which is not a power of A = 2"
    ):
        sample_markov_text(np.full((5, 2), 0.5), "ab", 10)
    with pytest.raises(ValueError, match="sample_markov_text: each row of transition must be a probability"):
        sample_markov_text(np.full((2, 2), 0.7), "ab", 10)
    assert isinstance(markov_text(1, 2, 0), MarkovText) and markov_text(1, 2, 0).text == ""
