"""Tokenizers: vocabularies, exact round trips, BPE checked by hand and against a naive trainer, save/load."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyllm as tl
from tinyllm.data import BPETokenizer, CharTokenizer, WordTokenizer
from tinyllm.data.tokenizers import CHUNK_PATTERN

SETTINGS = settings(derandomize=True, max_examples=60, deadline=None)

TEXT = (
    "The cat sat on the mat. The dog sat on the log, and the cat saw the dog.\n"
    "Then the cat and the dog sat together on the mat; the log was left alone.\n"
    "A cat, a dog, a mat and a log: that is the whole story of the cat and the dog.\n"
)


@pytest.fixture(scope="module")
def bpe() -> BPETokenizer:
    return BPETokenizer.fit([TEXT], vocab_size=300)


def _vocabulary(tokenizer: CharTokenizer | WordTokenizer) -> list[str]:
    return [tokenizer.id_to_token(i) for i in range(tokenizer.vocab_size)]


def _naive_bpe(text: str, vocab_size: int) -> tuple[list[tuple[int, int]], list[int]]:
    """BPE the slow, obvious way: recount every pair of every chunk occurrence before each merge.

    Returns the merges and the training text's final ids.
    """
    chunks = [list(chunk.encode("utf-8")) for chunk in CHUNK_PATTERN.findall(text)]
    merges = []
    for new_id in range(256, vocab_size):
        counts = Counter(pair for ids in chunks for pair in pairwise(ids))
        if not counts:
            break
        top = max(counts.values())
        best = min(pair for pair, n in counts.items() if n == top)
        merges.append(best)
        for ids in chunks:
            i = 0
            while i < len(ids) - 1:
                if (ids[i], ids[i + 1]) == best:
                    ids[i : i + 2] = [new_id]
                i += 1
    return merges, [i for ids in chunks for i in ids]


# ----------------------------------------------------------------------------- CharTokenizer


def test_char_vocabulary_is_specials_then_sorted_distinct_characters() -> None:
    tokenizer = CharTokenizer("hello", specials=["<pad>", "<bos>"])
    assert _vocabulary(tokenizer) == ["<pad>", "<bos>", "e", "h", "l", "o"]
    assert tokenizer.encode("hole") == [3, 5, 4, 2]
    assert tokenizer.pad_id == 0
    assert CharTokenizer("hello").pad_id is None


def test_char_fit_reads_the_distinct_characters_of_all_texts_sorted() -> None:
    # "banana" and "band" hold a b d n; sorted, they are ids 0 1 2 3 (the old fit("bananaband") too)
    tokenizer = CharTokenizer.fit(["banana", "band"])
    assert _vocabulary(tokenizer) == ["a", "b", "d", "n"]
    assert tokenizer.encode("nab") == CharTokenizer(["n", "a", "b", "d"]).encode("nab") == [3, 0, 1]
    from_iterator = CharTokenizer.fit(iter(["ba", "", "c"]), specials=["<pad>"])
    assert _vocabulary(from_iterator) == ["<pad>", "a", "b", "c"]


@SETTINGS
@given(text=st.text(alphabet=sorted(set(TEXT))))
def test_char_round_trips_any_text_of_known_characters(text: str) -> None:
    tokenizer = CharTokenizer.fit([TEXT])
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_char_unknown_character_raises_value_error_naming_it_and_its_position() -> None:
    tokenizer = CharTokenizer.fit(["abc"])
    with pytest.raises(ValueError, match=r"character 'é' \(U\+00E9\) at position 3"):
        tokenizer.encode("abcé")


def test_char_decode_writes_specials_by_name_and_rejects_ids_outside_the_vocabulary() -> None:
    tokenizer = CharTokenizer("ab", specials=["<pad>"])
    assert tokenizer.decode([1, 2, 0, 0]) == "ab<pad><pad>"
    with pytest.raises(ValueError, match="id 3 at position 1 is outside the vocabulary 0..2"):
        tokenizer.decode([1, 3])
    with pytest.raises(ValueError, match="id -1 at position 0"):
        tokenizer.decode([-1])


@pytest.mark.parametrize(
    ("chars", "specials", "message"),
    [
        (["a", "bc"], (), "single characters, got 'bc' at position 1"),
        ("", (), "no characters"),
        ("ab", ["x"], "at least 2 characters"),
        ("ab", ["<pad>", "<pad>"], "duplicates"),
    ],
)
def test_char_rejects_bad_characters_and_specials(chars, specials, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CharTokenizer(chars, specials)


# ----------------------------------------------------------------------------- WordTokenizer


def test_word_splits_words_and_punctuation_and_lowercases() -> None:
    assert WordTokenizer(["a"]).tokenize("Don't stop, Bob!") == ["don", "'", "t", "stop", ",", "bob", "!"]
    assert WordTokenizer(["a"], lower=False).tokenize("Hi  there.") == ["Hi", "there", "."]


def test_word_vocabulary_is_pad_unk_then_most_frequent_with_ties_alphabetical() -> None:
    tokenizer = WordTokenizer.fit(["b a c", "c b", "c"])  # c: 3, b: 2, a: 1
    assert _vocabulary(tokenizer) == ["<pad>", "<unk>", "c", "b", "a"]
    assert (tokenizer.pad_id, tokenizer.unk_id) == (0, 1)
    assert _vocabulary(WordTokenizer.fit(["zebra apple mango"]))[2:] == ["apple", "mango", "zebra"]


def test_word_unknown_words_map_to_unk_and_case_is_folded_when_lower() -> None:
    tokenizer = WordTokenizer.fit(["the cat sat"])
    assert tokenizer.encode("The CAT flew") == [4, 2, 1]  # vocabulary: <pad> <unk> cat sat the
    cased = WordTokenizer.fit(["the cat sat"], lower=False)
    assert cased.encode("The cat") == [1, cased.encode("cat")[0]]


def test_word_min_freq_drops_rarer_words() -> None:
    tokenizer = WordTokenizer.fit(["a a a b b c", "d"], min_freq=2)
    assert tokenizer.vocab_size == 4
    assert tokenizer.encode("a b c d") == [2, 3, 1, 1]


def test_word_max_size_caps_the_vocabulary_including_specials_keeping_the_most_frequent() -> None:
    tokenizer = WordTokenizer.fit(["a a a b b c c d"], max_size=4)  # b and c tie at 2: b wins
    assert tokenizer.vocab_size == 4
    assert tokenizer.decode(tokenizer.encode("a b c d")) == "a b <unk> <unk>"


def test_word_decode_joins_tokens_with_spaces_and_is_not_an_exact_inverse() -> None:
    tokenizer = WordTokenizer.fit(["Hello, world!"])
    assert tokenizer.decode(tokenizer.encode("Hello,   World!")) == "hello , world !"
    assert tokenizer.decode([0, 1]) == "<pad> <unk>"


def test_word_constructor_takes_the_words_in_id_order() -> None:
    tokenizer = WordTokenizer(["the", "cat"])
    assert _vocabulary(tokenizer) == ["<pad>", "<unk>", "the", "cat"]
    assert tokenizer.encode("The dog") == [2, 1]


def test_word_errors_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="words must be a non-empty list of str"):
        WordTokenizer([])
    with pytest.raises(ValueError, match="contain duplicates or the specials"):
        WordTokenizer(["a", "<unk>"])
    with pytest.raises(ValueError, match="min_freq=3 times .*'a', occurs 2 times"):
        WordTokenizer.fit(["a a b"], min_freq=3)
    with pytest.raises(ValueError, match="max_size must be None or an int > 2"):
        WordTokenizer.fit(["a"], max_size=2)
    with pytest.raises(ValueError, match="min_freq must be an int >= 1"):
        WordTokenizer.fit(["a"], min_freq=0)
    with pytest.raises(TypeError, match="lower must be True or False"):
        WordTokenizer.fit(["a"], lower="yes")


# ----------------------------------------------------------------------------- BPETokenizer


def test_bpe_hand_checked_merges_on_aaabdaaabac() -> None:
    # Bytes: a=97 b=98 c=99 d=100; the text is one chunk (all letters).
    # a a a b d a a a b a c: pairs aa x4 (overlaps count), ab x2, bd da ba ac x1
    #   merge 1: (97, 97) -> 256            256 a b d 256 a b a c
    #   now (256, 97) and (97, 98) both occur twice; the tie goes to the smaller pair
    #   merge 2: (97, 98) -> 257            256 257 d 256 257 a c
    #   merge 3: (256, 257) -> 258          258 d 258 a c
    #   all pairs occur once; the smallest is (97, 99)
    #   merge 4: (97, 99) -> 259            258 d 258 259
    # These merges are what the old BPETokenizer.train("aaabdaaabac", 260) learned too.
    tokenizer = BPETokenizer.fit(["aaabdaaabac"], vocab_size=260)
    assert tokenizer.merges == [(97, 97), (97, 98), (256, 257), (97, 99)]
    assert tokenizer.encode("aaabdaaabac") == [258, 100, 258, 259]
    assert tokenizer.token_bytes(258) == b"aaab"
    assert BPETokenizer.fit(["aaabdaaabac"], vocab_size=259).encode("aaabdaaabac") == [258, 100, 258, 97, 99]


def test_bpe_matches_a_naive_trainer_that_recounts_every_pair_before_each_merge() -> None:
    merges, ids = _naive_bpe(TEXT, 330)
    tokenizer = BPETokenizer.fit([TEXT], vocab_size=330)
    assert tokenizer.merges == merges
    assert tokenizer.encode(TEXT) == ids


def test_bpe_merges_never_cross_from_one_text_into_the_next() -> None:
    # As one text "abab" is one chunk: ab x2 -> 256, then (256, 256) -> 257.
    # As two texts each "ab" is its own chunk: ab x2 -> 256, then no pair is left.
    assert BPETokenizer.fit(["abab"], vocab_size=1000).merges == [(97, 98), (256, 256)]
    assert BPETokenizer.fit(["ab", "ab"], vocab_size=1000).merges == [(97, 98)]


def test_bpe_lines_learn_what_their_text_learns_when_they_split_at_chunk_boundaries() -> None:
    # TEXT's line breaks end a chunk anyway ("mat.\n" | "Then" -> ".", "\n", "Then").
    lines = TEXT.splitlines(keepends=True)
    assert BPETokenizer.fit(lines, vocab_size=330).merges == BPETokenizer.fit([TEXT], vocab_size=330).merges


def test_bpe_merges_reduce_the_token_count_of_the_training_text(bpe: BPETokenizer) -> None:
    n_bytes, n_tokens = len(TEXT.encode("utf-8")), len(bpe.encode(TEXT))
    assert n_tokens < 0.5 * n_bytes


def test_bpe_chunks_are_words_with_their_leading_space_punctuation_and_whitespace() -> None:
    # the last space of a run goes with the next word, so "cat" after two spaces is still " cat"
    assert CHUNK_PATTERN.findall("the  cat... ok!\n\n") == ["the", " ", " cat", "...", " ok", "!", "\n\n"]


def test_bpe_merges_do_not_cross_chunk_boundaries(bpe: BPETokenizer) -> None:
    # " the" may be a token, but never "the " or "t." : each token lies inside one chunk
    for i in range(256, bpe.vocab_size):
        assert CHUNK_PATTERN.fullmatch(bpe.id_to_token(i)), bpe.id_to_token(i)
    assert " the" in {bpe.id_to_token(i) for i in range(256, bpe.vocab_size)}


def test_bpe_training_is_deterministic() -> None:
    assert BPETokenizer.fit([TEXT], vocab_size=300).merges == BPETokenizer.fit([TEXT], vocab_size=300).merges


def test_bpe_round_trips_unicode_never_seen_in_training(bpe: BPETokenizer) -> None:
    unseen = [
        "héllo wörld",
        "猫が座った。",
        "emoji 🐈‍⬛ and 👍🏽!",
        "e\u0301 \r\n\t\x00",
        "",
        "  the   cat  ",
    ]
    for text in unseen:
        assert bpe.decode(bpe.encode(text)) == text


@SETTINGS
@given(text=st.lists(st.sampled_from(TEXT.split(" ")) | st.text(), max_size=8).map(" ".join))
def test_bpe_round_trips_any_unicode_text(bpe: BPETokenizer, text: str) -> None:
    assert "".join(CHUNK_PATTERN.findall(text)) == text
    assert bpe.decode(bpe.encode(text)) == text


def test_bpe_unseen_characters_fall_back_to_their_utf8_bytes(bpe: BPETokenizer) -> None:
    assert bpe.encode("é") == [0xC3, 0xA9]
    assert bpe.id_to_token(0xC3) == "\\xc3"
    assert bpe.decode([0xC3]) == "\ufffd"


def test_bpe_vocab_size_counts_bytes_and_merges_and_training_stops_when_no_pair_is_left() -> None:
    assert BPETokenizer().vocab_size == 256
    assert BPETokenizer.fit([TEXT], vocab_size=300).vocab_size == 300
    assert BPETokenizer.fit(["ab ab"], vocab_size=1000).merges == [(97, 98), (32, 256)]


def test_bpe_errors_say_what_is_wrong(bpe: BPETokenizer) -> None:
    with pytest.raises(ValueError, match="vocab_size must be an int >= 256"):
        BPETokenizer.fit([TEXT], vocab_size=100)
    with pytest.raises(ValueError, match=r"'\\ud800' at position 3 is a lone surrogate"):
        bpe.encode("ab \ud800")
    with pytest.raises(ValueError, match=r"fit: character '\\udc80' at position 1 of text 1 is a lone surrogate"):
        BPETokenizer.fit(["ab", "x\udc80y"], vocab_size=260)
    with pytest.raises(ValueError, match="id 300 at position 1 is outside the vocabulary 0..299"):
        bpe.decode([0, 300])
    with pytest.raises(ValueError, match=r"merge 1 is \(256, 258\), expected two ids in 0..256"):
        BPETokenizer([(97, 97), (256, 258)])


# ----------------------------------------------------------------------------- the common interface


def _all_three() -> dict[str, object]:
    return {
        "CharTokenizer": CharTokenizer.fit([TEXT], specials=["<pad>"]),
        "WordTokenizer": WordTokenizer.fit(TEXT.splitlines(), min_freq=2, max_size=10),
        "BPETokenizer": BPETokenizer.fit([TEXT], vocab_size=300),
    }


@pytest.mark.parametrize("name", ["CharTokenizer", "WordTokenizer", "BPETokenizer"])
def test_save_load_round_trip_gives_identical_encodings(tmp_path: Path, name: str) -> None:
    tokenizer = _all_three()[name]
    tokenizer.save(tmp_path / "tok.json")
    loaded = type(tokenizer).load(tmp_path / "tok.json")
    assert type(loaded) is type(tokenizer)
    assert loaded.vocab_size == tokenizer.vocab_size
    assert loaded.encode_batch(TEXT.splitlines()) == tokenizer.encode_batch(TEXT.splitlines())
    ids = tokenizer.encode(TEXT)
    assert loaded.decode(ids) == tokenizer.decode(ids)


def test_vocab_size_and_repr_show_the_size() -> None:
    tokenizers = _all_three()
    sizes = {name: t.vocab_size for name, t in tokenizers.items()}
    assert sizes == {"CharTokenizer": 1 + len(set(TEXT)), "WordTokenizer": 10, "BPETokenizer": 300}
    assert repr(tokenizers["BPETokenizer"]) == "BPETokenizer(vocab_size=300)"
    assert repr(tokenizers["WordTokenizer"]) == "WordTokenizer(vocab_size=10)"


@pytest.mark.parametrize("cls", [CharTokenizer, WordTokenizer, BPETokenizer])
def test_fit_rejects_one_str_and_items_that_are_not_texts(cls: type) -> None:
    options = {"vocab_size": 300} if cls is BPETokenizer else {}
    with pytest.raises(TypeError, match=rf"{cls.__name__}.fit: .*got one str; wrap it in a list: \[text\]"):
        cls.fit("the cat", **options)
    with pytest.raises(TypeError, match=r"expected texts \(str\), got int at position 1"):
        cls.fit(["the cat", 7], **options)


@pytest.mark.parametrize("cls", [CharTokenizer, WordTokenizer])
def test_fit_on_texts_without_content_says_so(cls: type) -> None:
    with pytest.raises(ValueError, match=f"{cls.__name__}.fit: the texts contain no"):
        cls.fit(["", ""] if cls is CharTokenizer else ["", "  "])


@pytest.mark.parametrize("name", ["CharTokenizer", "WordTokenizer", "BPETokenizer"])
def test_encode_batch_encodes_each_text_and_rejects_a_single_str(name: str) -> None:
    tokenizer = _all_three()[name]
    texts = ["the cat", "", "a log."]
    assert tokenizer.encode_batch(texts) == [tokenizer.encode(t) for t in texts]
    with pytest.raises(TypeError, match="encode_batch: expected an iterable of texts"):
        tokenizer.encode_batch("the cat")


def test_load_of_the_wrong_type_names_the_file_and_both_types(tmp_path: Path) -> None:
    path = tmp_path / "word.json"
    WordTokenizer.fit(["a b"]).save(path)
    with pytest.raises(
        ValueError, match=f"BPETokenizer.load: {re.escape(str(path))} holds a 'WordTokenizer', "
    ):
        BPETokenizer.load(path)


def _word(lower: str = "true", words: str = '["a"]') -> str:
    """A saved WordTokenizer's JSON with one field replaced."""
    return '{"type": "WordTokenizer", ' + f'"lower": {lower}, "words": {words}' + "}"


def test_word_load_reads_files_that_also_hold_the_fit_options(tmp_path: Path) -> None:
    # Files saved when min_freq and max_size were the tokenizer's settings hold them too.
    path = tmp_path / "old.json"
    path.write_text('{"type": "WordTokenizer", "lower": false, "min_freq": 2, "max_size": 4, '
                    '"words": ["b", "a"]}', encoding="utf-8")  # fmt: skip
    tokenizer = WordTokenizer.load(path)
    assert (_vocabulary(tokenizer), tokenizer.lower) == (["<pad>", "<unk>", "b", "a"], False)


@pytest.mark.parametrize(
    ("cls", "content", "message"),
    [
        (CharTokenizer, '{"type": "CharTokenizer", "chars": [', "is not a valid JSON file"),
        (CharTokenizer, "[1, 2]", 'is not a saved tokenizer \\(no "type" field\\)'),
        (CharTokenizer, '{"type": "CharTokenizer", "chars": ["a"]}', "field 'specials' is missing"),
        (CharTokenizer, '{"type": "CharTokenizer", "chars": ["ab"], "specials": []}', "single characters"),
        (BPETokenizer, '{"type": "BPETokenizer", "merges": "abc"}', "field 'merges' is 'abc', expected list"),
        (BPETokenizer, '{"type": "BPETokenizer", "merges": [[97, 300]]}', "merge 0 is \\[97, 300\\]"),
        (WordTokenizer, _word(lower="1"), "field 'lower' is 1, expected bool"),
        (WordTokenizer, _word(words="[]"), "words must be a non-empty list"),
        (WordTokenizer, '{"type": "WordTokenizer", "words": ["a"]}', "field 'lower' is missing"),
        (CharTokenizer, '{"type": "CharTokenizer", "chars": ["b", "a"], "specials": []}', "sorted order"),
        (CharTokenizer, '{"type": "CharTokenizer", "chars": ["a", "a", "b"], "specials": []}', "distinct"),
        (WordTokenizer, '{"type": "WordTokenizer", "lower": true, "max_size": 3, "words": ["a", "b"]}',
         "holds 2 words, more than its max_size 3 allows"),
    ],
)  # fmt: skip
def test_load_of_a_malformed_file_raises_value_error_naming_it(
    tmp_path: Path, cls: type, content: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=f"{cls.__name__}.load: {re.escape(str(path))}.*{message}"):
        cls.load(path)


def test_load_of_a_missing_file_raises_file_not_found_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nowhere.json"))):
        CharTokenizer.load(tmp_path / "nowhere.json")


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (b"ab", "expected a sequence of integer ids, got bytes"),
        ("ab", "expected a sequence of integer ids, got str"),
        (None, "expected a sequence of integer ids, got NoneType"),
        ([0, 1.0], "ids must be integers, got float 1.0 at position 1"),
        ([True], "ids must be integers, got bool"),
        (np.array([[0, 1]]), "expected a 1-D integer array of ids, got int64 of shape \\(1, 2\\)"),
        (np.array([0.0, 1.0]), "expected a 1-D integer array of ids, got float64"),
    ],
)
@pytest.mark.parametrize("name", ["char", "word", "bpe"])
def test_decode_names_ids_of_the_wrong_kind(name: str, ids, message: str, bpe: BPETokenizer) -> None:
    tokenizer = {"char": CharTokenizer("abc"), "word": WordTokenizer(["a", "b"]), "bpe": bpe}[name]
    with pytest.raises(TypeError, match=f"decode: {message}"):
        tokenizer.decode(ids)


def test_decode_reads_integer_arrays_and_tensors() -> None:
    tokenizer = CharTokenizer("abc")
    assert tokenizer.decode(np.array([2, 0, 1])) == tokenizer.decode(tl.tensor([2, 0, 1])) == "cab"
