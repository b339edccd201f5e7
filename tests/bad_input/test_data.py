"""Bad input to the DataLoader, splits, LM batches, tokenizers and synthetic sources."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyllm.data import (
    BPETokenizer,
    CharTokenizer,
    DataLoader,
    LabeledTexts,
    WordTokenizer,
    collate_sequences,
    lm_batches,
    markov_text,
    sequential_lm_batches,
    split_tokens,
    synthetic_sentiment,
    train_val_test_split,
)

ITEMS = list(range(10))
TOKENS = np.arange(50)

LOADER_CASES = [
    (lambda: DataLoader(ITEMS, batch_size=0), ValueError, r"batch_size must be a positive integer, not 0"),
    (lambda: DataLoader(ITEMS, batch_size=-1), ValueError, r"batch_size.*-1"),
    (lambda: DataLoader(ITEMS, batch_size=1.5), ValueError, r"batch_size.*1\.5"),
    (lambda: DataLoader(ITEMS, batch_size=2.0), ValueError, r"batch_size.*2\.0"),
    (lambda: DataLoader(ITEMS, batch_size=True), ValueError, r"batch_size.*True"),
    (lambda: DataLoader(ITEMS, batch_size="4"), ValueError, r"batch_size.*'4'"),
    (lambda: DataLoader(ITEMS, batch_size=None), ValueError, r"batch_size.*None"),
    (lambda: DataLoader(ITEMS, bucket_batches=0), ValueError, r"bucket_batches.*0"),
    (lambda: DataLoader([], batch_size=2), ValueError, r"the dataset is empty"),
    (lambda: DataLoader(iter(ITEMS), batch_size=2), TypeError, r"dataset needs len\(\) and indexing"),
    (lambda: DataLoader(5, batch_size=2), TypeError, r"dataset needs len\(\) and indexing"),
    (lambda: DataLoader(ITEMS, shuffle=True, seed="1"), ValueError, r"seed.*'1'"),
    (lambda: DataLoader(ITEMS, shuffle=True, seed=-1), ValueError, r"seed.*-1"),
    (lambda: DataLoader(ITEMS, shuffle=True, seed=1.5), ValueError, r"seed.*1\.5"),
    (lambda: DataLoader(ITEMS, shuffle=True, seed=True), ValueError, r"seed.*True"),
    (lambda: DataLoader(ITEMS, shuffle="yes"), TypeError, r"shuffle must be True or False.*'yes'"),
    (lambda: DataLoader(ITEMS, drop_last=1), TypeError, r"drop_last must be True or False.*1"),
    (lambda: DataLoader(ITEMS, batch_size=11, drop_last=True), ValueError,
     r"drop_last.*10 items.*batch_size 11.*no batch"),
    (lambda: DataLoader(ITEMS, collate_fn="stack"), TypeError, r"collate_fn must be callable.*'stack'"),
    (lambda: DataLoader(ITEMS, bucket_by_length="no"), TypeError, r"bucket_by_length must be True or False"),
    (lambda: collate_sequences([]), ValueError, r"collate_sequences: the batch is empty"),
    (lambda: collate_sequences([(np.array([1, 2]), 0), np.array([1])]), TypeError, r"example 1"),
]


@pytest.mark.parametrize(("build", "error", "match"), LOADER_CASES)
def test_loader_refuses_bad_input(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.mark.parametrize(
    ("state", "match"),
    [({}, r"lacks"), ({"epoch": -1, "position": 0, "seed": 0}, r"epoch"),
     ({"epoch": 0, "position": 99, "seed": 0}, r"position 99")],
)
def test_loader_load_state_dict_names_the_bad_field(state, match):
    loader = DataLoader(ITEMS, batch_size=2, shuffle=True, seed=0)
    full = {**loader.state_dict(), **state} if state else {}
    with pytest.raises((KeyError, ValueError), match=match):
        loader.load_state_dict(full)


def test_loader_keeps_a_short_last_batch_without_drop_last():
    batches = list(DataLoader(ITEMS, batch_size=4))
    assert [len(b) for b in batches] == [4, 4, 2]


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 30), batch_size=st.integers(1, 35), drop_last=st.booleans())
def test_loader_batches_cover_the_dataset_like_torch(n, batch_size, drop_last):
    if drop_last and batch_size > n:
        with pytest.raises(ValueError, match=r"drop_last"):
            DataLoader(list(range(n)), batch_size=batch_size, drop_last=drop_last)
        return
    loader = DataLoader(list(range(n)), batch_size=batch_size, drop_last=drop_last)
    sizes = [len(b) for b in loader]
    expected = [batch_size] * (n // batch_size) + ([] if drop_last or n % batch_size == 0 else [n % batch_size])
    assert sizes == expected and len(loader) == len(expected)


SPLIT_CASES = [
    (lambda: train_val_test_split(ITEMS, (0.5, 0.4)), ValueError, r"add up to 1.*0\.9"),
    (lambda: train_val_test_split(ITEMS, (0.6, 0.6, -0.2)), ValueError, r"finite and >= 0"),
    (lambda: train_val_test_split(ITEMS, (0.5, math.nan, 0.5)), ValueError, r"finite and >= 0"),
    (lambda: train_val_test_split(ITEMS, ()), ValueError, r"non-empty sequence"),
    (lambda: train_val_test_split(ITEMS, 0.8), ValueError, r"fractions must be a non-empty sequence.*0\.8"),
    (lambda: train_val_test_split(ITEMS, ("a", "b")), ValueError, r"fractions"),
    (lambda: train_val_test_split([], (0.5, 0.5)), ValueError, r"nothing to split"),
    (lambda: train_val_test_split(ITEMS, (0.5, 0.5), seed=-1), ValueError, r"seed.*-1"),
    (lambda: train_val_test_split(ITEMS, (0.5, 0.5), seed="a"), ValueError, r"seed.*'a'"),
    (lambda: train_val_test_split(5, (0.5, 0.5)), TypeError, r"data.*int"),
    (lambda: split_tokens(TOKENS, (0.7, 0.2)), ValueError, r"add up to 1"),
    (lambda: split_tokens(TOKENS.reshape(5, 10)), ValueError, r"1-D array, not shape \(5, 10\)"),
    (lambda: split_tokens(TOKENS, (0.9, 0.05, 0.05), block_size=8), ValueError, r"part 1 has \d+ .*block_size \+ 1"),
    (lambda: split_tokens(TOKENS, block_size=0), ValueError, r"block_size must be a positive integer.*0"),
    (lambda: split_tokens(TOKENS, block_size=2.5), ValueError, r"block_size.*2\.5"),
]


@pytest.mark.parametrize(("build", "error", "match"), SPLIT_CASES)
def test_split_refuses_bad_input(build, error, match):
    with pytest.raises(error, match=match):
        build()


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), weights=st.lists(st.integers(0, 5), min_size=1, max_size=4))
def test_split_parts_partition_the_data(n, weights):
    total = sum(weights)
    if total == 0:
        with pytest.raises(ValueError, match=r"add up to 1"):
            train_val_test_split(list(range(n)), [0.0] * len(weights))
        return
    parts = train_val_test_split(list(range(n)), [w / total for w in weights])
    assert len(parts) == len(weights)
    assert sorted(x for part in parts for x in part) == list(range(n))


LM_CASES = [
    (lambda: lm_batches(TOKENS, block_size=0, batch_size=2), ValueError, r"block_size must be a positive.*not 0"),
    (lambda: lm_batches(TOKENS, block_size=-3, batch_size=2), ValueError, r"block_size.*-3"),
    (lambda: lm_batches(TOKENS, block_size=4.0, batch_size=2), ValueError, r"block_size.*4\.0"),
    (lambda: lm_batches(TOKENS, block_size=True, batch_size=2), ValueError, r"block_size.*True"),
    (lambda: lm_batches(TOKENS, block_size=4, batch_size=0), ValueError, r"batch_size.*0"),
    (lambda: lm_batches(TOKENS, block_size=50, batch_size=2), ValueError, r"50 tokens are too few for block_size 50"),
    (lambda: lm_batches([], block_size=4, batch_size=2), ValueError, r"tokens must be a 1-D integer array"),
    (lambda: lm_batches(TOKENS.astype(float), block_size=4, batch_size=2), ValueError, r"integer array.*float64"),
    (lambda: lm_batches(TOKENS.reshape(5, 10), block_size=4, batch_size=2), ValueError, r"shape \(5, 10\)"),
    (lambda: lm_batches("hello world", block_size=4, batch_size=2), ValueError, r"integer array"),
    (lambda: lm_batches(TOKENS, block_size=4, batch_size=2, steps=-1), ValueError, r"steps.*-1"),
    (lambda: lm_batches(TOKENS, block_size=4, batch_size=2, steps=2.5), ValueError, r"steps.*2\.5"),
    (lambda: lm_batches(TOKENS, block_size=4, batch_size=2, seed=-1), ValueError, r"seed.*-1"),
    (lambda: lm_batches(TOKENS, block_size=4, batch_size=2, seed="x"), ValueError, r"seed.*'x'"),
    (lambda: sequential_lm_batches(TOKENS, block_size=0, batch_size=2), ValueError, r"block_size.*0"),
    (lambda: sequential_lm_batches(TOKENS, block_size=4, batch_size=-2), ValueError, r"batch_size.*-2"),
    (lambda: sequential_lm_batches(TOKENS, block_size=10, batch_size=5), ValueError,
     r"too few for 5 streams of block_size 10"),
    (lambda: sequential_lm_batches(TOKENS[:1], block_size=1, batch_size=1), ValueError, r"1 tokens are too few"),
]


@pytest.mark.parametrize(("build", "error", "match"), LM_CASES)
def test_lm_batches_refuse_bad_input(build, error, match):
    with pytest.raises(error, match=match):
        build()


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 60), block_size=st.integers(1, 20), batch_size=st.integers(1, 4))
def test_lm_batches_windows_or_a_named_error(n, block_size, batch_size):
    tokens = np.arange(n)
    if n < block_size + 1:
        with pytest.raises(ValueError, match=r"too few for block_size"):
            lm_batches(tokens, block_size, batch_size)
        return
    x, y = next(lm_batches(tokens, block_size, batch_size, steps=1, seed=0))
    assert x.shape == (batch_size, block_size)
    np.testing.assert_array_equal(y.data, x.data + 1)


TOKENIZER_CASES = [
    (lambda: CharTokenizer.fit("abc"), TypeError, r"one str; wrap it in a list"),
    (lambda: CharTokenizer.fit([]), ValueError, r"no characters"),
    (lambda: CharTokenizer.fit([""]), ValueError, r"no characters"),
    (lambda: CharTokenizer.fit(["ab", 3]), TypeError, r"int at position 1"),
    (lambda: CharTokenizer.fit(["ab"], specials=["<pad>", "<pad>"]), ValueError, r"duplicates"),
    (lambda: CharTokenizer.fit(["ab"], specials=["x"]), ValueError, r"special 'x'.*at least 2 characters"),
    (lambda: CharTokenizer.fit(["ab"], specials=[""]), ValueError, r"special ''"),
    (lambda: CharTokenizer.fit(["ab"], specials=[None]), ValueError, r"special None"),
    (lambda: CharTokenizer.fit(["ab"], specials="<pad>"), TypeError, r"specials.*list.*'<pad>'"),
    (lambda: CharTokenizer(["ab", "c"]), ValueError, r"single characters.*'ab' at position 0"),
    (lambda: CharTokenizer([]), ValueError, r"no characters given"),
    (lambda: CharTokenizer.fit(["ab"]).encode("abz"), ValueError, r"'z'"),
    (lambda: CharTokenizer.fit(["ab"]).encode(["a"]), TypeError, r"encode.*str.*list"),
    (lambda: CharTokenizer.fit(["ab"]).decode([0, 5]), ValueError, r"5"),
    (lambda: CharTokenizer.fit(["ab"]).decode([0, -1]), ValueError, r"-1"),
    (lambda: CharTokenizer.fit(["ab"]).decode([0.0]), TypeError, r"integers.*float"),
    (lambda: CharTokenizer.fit(["ab"]).decode("ab"), TypeError, r"str"),
    (lambda: CharTokenizer.fit(["ab"]).id_to_token(7), ValueError, r"id_to_token.*7"),
    (lambda: WordTokenizer.fit(["a b"], min_freq=0), ValueError, r"min_freq must be an int >= 1, not 0"),
    (lambda: WordTokenizer.fit(["a b"], min_freq=1.5), ValueError, r"min_freq.*1\.5"),
    (lambda: WordTokenizer.fit(["a b"], min_freq=True), ValueError, r"min_freq.*True"),
    (lambda: WordTokenizer.fit(["a b"], max_size=2), ValueError, r"max_size must be None or an int > 2.*2"),
    (lambda: WordTokenizer.fit(["a b"], max_size=0), ValueError, r"max_size.*0"),
    (lambda: WordTokenizer.fit(["a b"], max_size=10.0), ValueError, r"max_size.*10\.0"),
    (lambda: WordTokenizer.fit(["a b"], max_size=True), ValueError, r"max_size.*True"),
    (lambda: WordTokenizer.fit(["a b"], lower="yes"), TypeError, r"lower must be True or False"),
    (lambda: WordTokenizer.fit(["a a b"], min_freq=3), ValueError, r"min_freq=3.*'a'.*2 times"),
    (lambda: WordTokenizer.fit(["", "  "]), ValueError, r"no tokens"),
    (lambda: WordTokenizer.fit("a b"), TypeError, r"wrap it in a list"),
    (lambda: WordTokenizer([]), ValueError, r"non-empty list"),
    (lambda: WordTokenizer(["a", "a"]), ValueError, r"duplicates"),
    (lambda: WordTokenizer(["a", "<pad>"]), ValueError, r"specials"),
    (lambda: WordTokenizer.fit(["a b"]).decode([99]), ValueError, r"99"),
    (lambda: BPETokenizer.fit(["ab"], vocab_size=255), ValueError, r"vocab_size must be an int >= 256.*255"),
    (lambda: BPETokenizer.fit(["ab"], vocab_size=0), ValueError, r"vocab_size.*0"),
    (lambda: BPETokenizer.fit(["ab"], vocab_size=300.0), ValueError, r"vocab_size.*300\.0"),
    (lambda: BPETokenizer.fit(["ab"], vocab_size=True), ValueError, r"vocab_size.*True"),
    (lambda: BPETokenizer.fit("ab", vocab_size=260), TypeError, r"wrap it in a list"),
    (lambda: BPETokenizer([(0, 300)]), ValueError, r"merge 0.*0\.\.255"),
    (lambda: BPETokenizer([(1, 2), (1, 2)]), ValueError, r"merge 1 repeats the pair"),
    (lambda: BPETokenizer([(1,)]), ValueError, r"merge 0"),
    (lambda: BPETokenizer().decode([256]), ValueError, r"256"),
    (lambda: BPETokenizer().encode(b"ab"), TypeError, r"encode.*str.*bytes"),
]


@pytest.mark.parametrize(("build", "error", "match"), TOKENIZER_CASES)
def test_tokenizer_refuses_bad_input(build, error, match):
    with pytest.raises(error, match=match):
        build()


@settings(max_examples=30, deadline=None)
@given(text=st.text(max_size=40))
def test_bpe_round_trips_any_text(text):
    tok = BPETokenizer.fit(["hello hello world"], vocab_size=260)
    assert tok.decode(tok.encode(text)) == text


@settings(max_examples=30, deadline=None)
@given(ids=st.lists(st.integers(-5, 300), max_size=10))
def test_bpe_decode_refuses_ids_out_of_range(ids):
    tok = BPETokenizer()
    if all(0 <= i < 256 for i in ids):
        assert isinstance(tok.decode(ids), str)
    else:
        with pytest.raises(ValueError, match=r"ids?"):
            tok.decode(ids)


@pytest.mark.parametrize("payload", [b"", b"{", b"[]", b'{"type": "BPETokenizer"}', b"\xff\xfe\x00", b'{"type": 3}'])
@pytest.mark.parametrize("cls", [CharTokenizer, WordTokenizer, BPETokenizer])
def test_tokenizer_load_refuses_a_file_that_is_not_a_tokenizer(tmp_path, cls, payload):
    path = tmp_path / "tok.json"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match=r"load: .*tok\.json"):
        cls.load(path)


SYNTHETIC_CASES = [
    (lambda: synthetic_sentiment(-1), ValueError, r"n must be a non-negative integer, not -1"),
    (lambda: synthetic_sentiment(2.5), ValueError, r"n.*2\.5"),
    (lambda: synthetic_sentiment(10, noise=1.5), ValueError, r"noise must be in \[0, "),
    (lambda: synthetic_sentiment(10, noise=math.nan), ValueError, r"noise"),
    (lambda: synthetic_sentiment(10, contrast=-0.1), ValueError, r"contrast"),
    (lambda: synthetic_sentiment(10, seed=-1), ValueError, r"seed.*-1"),
    (lambda: markov_text(-1, 3, 10), ValueError, r"order must be a non-negative integer"),
    (lambda: markov_text(1, 1, 10), ValueError, r"alphabet size must be in \[2, "),
    (lambda: markov_text(1, "aa", 10), ValueError, r"distinct"),
    (lambda: markov_text(1, 3, -5), ValueError, r"n_chars.*-5"),
    (lambda: markov_text(1, 3, 10, concentration=0.0), ValueError, r"concentration must be > 0"),
    (lambda: markov_text(1, 3, 10, concentration=math.nan), ValueError, r"concentration"),
    (lambda: LabeledTexts(["a", "b"], [0], ["x", "y"]), ValueError, r"2 texts but 1 labels"),
    (lambda: LabeledTexts(["a"], [2], ["x", "y"]), ValueError, r"labels must be in \[0, 2\)"),
    (lambda: LabeledTexts(["a"], [0.5], ["x", "y"]), ValueError, r"labels.*whole numbers.*0\.5"),
]


@pytest.mark.parametrize(("build", "error", "match"), SYNTHETIC_CASES)
def test_synthetic_sources_refuse_bad_input(build, error, match):
    with pytest.raises(error, match=match):
        build()
