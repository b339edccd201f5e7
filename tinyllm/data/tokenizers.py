"""Tokenizers: text to token ids and back, by character, by word, and by learned byte pairs.

All three are built the same way, from an iterable of texts with options as keywords::

    CharTokenizer.fit(texts, specials=["<pad>"])
    WordTokenizer.fit(texts, lower=True, min_freq=2, max_size=10_000)
    BPETokenizer.fit(texts, vocab_size=512)

One str where the texts are expected is a TypeError (iterating it would give its
characters, each taken as a text): pass ``[text]``. Each text is learned from on its
own, so nothing spans two texts (no BPE merge glues the end of one to the start of the
next). The constructors build a tokenizer from a known vocabulary instead:
``CharTokenizer(chars)``, ``WordTokenizer(words)``, ``BPETokenizer(merges)``.

All three share one interface: ``encode(text) -> list[int]``, ``decode(ids) -> str``,
``encode_batch(texts)``, ``vocab_size``, ``id_to_token(id)``, ``save(path)`` and the
classmethod ``load(path)`` (JSON with a ``"type"`` field), and a repr with the vocabulary size.

What differs:

- CharTokenizer: ids are the optional specials (e.g. ``"<pad>"``), then the distinct
  characters sorted. An unknown character is a ValueError naming it and its position.
  ``pad_id`` is the id of ``"<pad>"`` when it is a special, else None.
- WordTokenizer: ids are ``<pad>`` = 0, ``<unk>`` = 1, then the words, most frequent
  first (ties alphabetical). An unknown word encodes as ``<unk>``. ``pad_id`` = 0,
  ``unk_id`` = 1.
- BPETokenizer: ids are the 256 byte values, then the merges in the order learned.
  Nothing is unknown (any text is bytes); there are no specials and no ``pad_id``.

Round trips: CharTokenizer and BPETokenizer are exact (``decode(encode(text)) == text``,
for BPE any Unicode text at all); WordTokenizer's decode joins tokens with single
spaces, so it loses case, spacing and unknown words.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

PathLike = str | os.PathLike[str]


def _check_texts(fn: str, texts: Iterable[str]) -> list[str]:
    """``texts`` as a list, or a TypeError for one str (a common slip) or an item that is not a str."""
    if isinstance(texts, str):
        raise TypeError(f"{fn}: expected an iterable of texts, got one str; wrap it in a list: [text]")
    texts = list(texts)
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{fn}: expected texts (str), got {type(text).__name__} at position {position}")
    return texts


def _check_text(fn: str, text: Any) -> None:
    if not isinstance(text, str):
        raise TypeError(f"{fn}: expected a str, got {type(text).__name__}; for many texts use encode_batch")


def _check_unicode(fn: str, text: str, which: str = "") -> None:
    """A ValueError for a lone surrogate (a str that is not Unicode text: it has no UTF-8 bytes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"{fn}: character {text[error.start]!r} at position {error.start}{which} is a lone "
                         "surrogate, which is not Unicode text") from None  # fmt: skip


def _check_ids(fn: str, ids: Iterable[int], vocab_size: int) -> list[int]:
    """``ids`` as a list of Python ints in range: a list of ints, or a 1-D integer array or tensor.
    Anything else (bytes, a str, None, floats) is a TypeError that names what it got."""
    if isinstance(ids, (str, bytes, bytearray)) or not isinstance(ids, Iterable):
        raise TypeError(f"{fn}: expected a sequence of integer ids, got {type(ids).__name__}")
    if hasattr(ids, "tolist") and hasattr(ids, "dtype"):  # a NumPy array or a tinyllm tensor
        if getattr(ids, "ndim", 1) != 1 or ids.dtype.kind not in "iu":
            raise TypeError(f"{fn}: expected a 1-D integer array of ids, got {ids.dtype} of shape {tuple(ids.shape)}")
        ids = ids.tolist()
    ids = list(ids)
    for position, i in enumerate(ids):
        if not isinstance(i, int) or isinstance(i, bool):
            raise TypeError(f"{fn}: ids must be integers, got {type(i).__name__} {i!r} at position {position}")
        if not 0 <= i < vocab_size:
            raise ValueError(
                f"{fn}: id {i} at position {position} is outside the vocabulary 0..{vocab_size - 1}"
            )
    return ids


def _field(data: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """``data[key]``, checked to be a ``kind``, or a ValueError naming the field."""
    if key not in data:
        raise ValueError(f"field {key!r} is missing")
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ValueError(f"field {key!r} is {value!r}, expected {names}")
    return value


class BaseTokenizer:
    """What every tokenizer shares: batches, the repr, and saving to JSON."""

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode(self, ids: Iterable[int]) -> str:
        raise NotImplementedError

    def encode_batch(self, texts: Iterable[str]) -> list[list[int]]:
        """``[encode(text) for text in texts]``."""
        return [self.encode(text) for text in _check_texts(f"{type(self).__name__}.encode_batch", texts)]

    def _to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def _from_json(cls, data: dict[str, Any]) -> BaseTokenizer:
        raise NotImplementedError

    def save(self, path: PathLike) -> None:
        """Write the tokenizer to ``path`` as JSON: ``{"type": <class name>, ...its vocabulary}``."""
        data = {"type": type(self).__name__, **self._to_json()}
        Path(path).write_text(json.dumps(data), encoding="utf-8")

    @classmethod
    def load(cls, path: PathLike) -> Any:
        """The tokenizer saved at ``path``; errors name the file and what is wrong with it."""
        fn, path = f"{cls.__name__}.load", Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{fn}: no such file: {path}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{fn}: {path} is not a valid JSON file ({error})") from error
        if not isinstance(data, dict) or "type" not in data:
            raise ValueError(f'{fn}: {path} is not a saved tokenizer (no "type" field)')
        if data["type"] != cls.__name__:
            raise ValueError(f"{fn}: {path} holds a {data['type']!r}, not a {cls.__name__!r}")
        try:
            return cls._from_json(data)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{fn}: {path} is not a valid {cls.__name__}: {error}") from error

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size})"


# ----------------------------------------------------------------------------- characters


class CharTokenizer(BaseTokenizer):
    """One token per character: ids are the specials, then the distinct characters sorted.

    ``CharTokenizer("hello")`` and ``CharTokenizer.fit(["he", "llo"])`` both give the
    vocabulary ``e h l o``. Specials (e.g. ``"<pad>"``, at least two characters long so
    they cannot be mistaken for a character) take the first ids; ``encode`` never produces
    them, ``decode`` writes them out as their names. A character outside the vocabulary is
    an error that names it and its position in the text.
    """

    def __init__(self, chars: Iterable[str], specials: Sequence[str] = ()) -> None:
        fn = "CharTokenizer"
        distinct = set()
        for position, c in enumerate(chars):
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"{fn}: chars must be single characters, got {c!r} at position {position}")
            distinct.add(c)
        if not distinct:
            raise ValueError(f"{fn}: no characters given")
        if isinstance(specials, str):
            raise TypeError(f"{fn}: specials must be a list of strings, like ['<pad>'], not one str {specials!r}")
        specials = list(specials)
        for s in specials:
            if not isinstance(s, str) or len(s) < 2:
                raise ValueError(f"{fn}: special {s!r} must be a str of at least 2 characters, like '<pad>'")
        if len(set(specials)) != len(specials):
            raise ValueError(f"{fn}: specials {specials} contain duplicates")
        self.specials = specials
        self._itos = specials + sorted(distinct)
        self._stoi = {token: i for i, token in enumerate(self._itos)}

    @classmethod
    def fit(cls, texts: Iterable[str], *, specials: Sequence[str] = ()) -> CharTokenizer:
        """The tokenizer of the distinct characters in ``texts``, after the ``specials``."""
        fn = "CharTokenizer.fit"
        chars = {c for text in _check_texts(fn, texts) for c in text}
        if not chars:
            raise ValueError(f"{fn}: the texts contain no characters")
        return cls(chars, specials)

    @property
    def vocab_size(self) -> int:
        return len(self._itos)

    @property
    def pad_id(self) -> int | None:
        """The id of the special ``"<pad>"``, or None when it is not among the specials."""
        return self._stoi.get("<pad>")

    def encode(self, text: str) -> list[int]:
        """One id per character of ``text``."""
        _check_text("CharTokenizer.encode", text)
        try:
            return [self._stoi[c] for c in text]
        except KeyError:
            position, c = next((i, c) for i, c in enumerate(text) if c not in self._stoi)
            raise ValueError(
                f"CharTokenizer.encode: character {c!r} (U+{ord(c):04X}) at position {position} "
                f"is not in the vocabulary of {self.vocab_size} tokens"
            ) from None

    def decode(self, ids: Iterable[int]) -> str:
        """The characters (and specials' names) of ``ids``, concatenated."""
        return "".join(self._itos[i] for i in _check_ids("CharTokenizer.decode", ids, self.vocab_size))

    def id_to_token(self, i: int) -> str:
        return self._itos[_check_ids("CharTokenizer.id_to_token", [i], self.vocab_size)[0]]

    def _to_json(self) -> dict[str, Any]:
        return {"specials": self.specials, "chars": self._itos[len(self.specials) :]}

    @classmethod
    def _from_json(cls, data: dict[str, Any]) -> CharTokenizer:
        chars = _field(data, "chars", list)
        if not all(isinstance(c, str) for c in chars) or chars != sorted(set(chars)):
            # the constructor would sort and deduplicate them, and every id after would shift
            raise ValueError("field 'chars' must hold distinct characters in sorted order, as save writes them")
        return cls(chars, _field(data, "specials", list))


# ----------------------------------------------------------------------------- words

# A word is a run of letters, digits and underscores; every other non-space character
# (punctuation, symbols, emoji) is a token of its own; whitespace only separates.
WORD_PATTERN = re.compile(r"\w+|[^\w\s]")


class WordTokenizer(BaseTokenizer):
    """One token per word or punctuation mark, from a vocabulary fitted on texts.

    Texts are split by ``WORD_PATTERN`` (``"Don't stop!"`` -> ``don ' t stop !``), after
    lowercasing when ``lower``. ``WordTokenizer.fit(texts, min_freq=..., max_size=...)``
    keeps the words seen at least ``min_freq`` times, most frequent first with ties in
    alphabetical order, cut so that the whole vocabulary (including the two specials) has
    at most ``max_size`` tokens. Ids: ``<pad>`` = 0, ``<unk>`` = 1, then the words; a word
    outside the vocabulary encodes as ``<unk>``. ``decode`` joins tokens with single
    spaces, so it is not an exact inverse of ``encode``.
    """

    pad_id = 0
    unk_id = 1
    SPECIALS = ("<pad>", "<unk>")

    def __init__(self, words: Sequence[str], lower: bool = True) -> None:
        """A tokenizer whose ids are ``<pad>``, ``<unk>``, then ``words`` in the order given."""
        fn = "WordTokenizer"
        if not isinstance(lower, bool):
            raise TypeError(f"{fn}: lower must be True or False, not {lower!r}")
        words = list(words)
        if not words or not all(isinstance(w, str) for w in words):
            raise ValueError(f"{fn}: words must be a non-empty list of str, not {words!r}")
        self.lower = lower
        self._itos = [*self.SPECIALS, *words]
        self._stoi = {token: i for i, token in enumerate(self._itos)}
        if len(self._stoi) != len(self._itos):
            raise ValueError(f"{fn}: words {words} contain duplicates or the specials {self.SPECIALS}")

    @classmethod
    def fit(
        cls, texts: Iterable[str], *, lower: bool = True, min_freq: int = 1, max_size: int | None = None
    ) -> WordTokenizer:
        """The tokenizer of the words of ``texts`` seen at least ``min_freq`` times, at most ``max_size`` ids."""
        fn = "WordTokenizer.fit"
        if not isinstance(lower, bool):
            raise TypeError(f"{fn}: lower must be True or False, not {lower!r}")
        if not isinstance(min_freq, int) or isinstance(min_freq, bool) or min_freq < 1:
            raise ValueError(f"{fn}: min_freq must be an int >= 1, not {min_freq!r}")
        if max_size is not None and (not isinstance(max_size, int) or isinstance(max_size, bool)
                                     or max_size <= len(cls.SPECIALS)):  # fmt: skip
            raise ValueError(f"{fn}: max_size must be None or an int > 2 (room for <pad>, <unk> and words), "
                             f"not {max_size!r}")  # fmt: skip
        counts = Counter(token for text in _check_texts(fn, texts) for token in _split(text, lower))
        if not counts:
            raise ValueError(f"{fn}: the texts contain no tokens")
        kept = sorted((w for w, n in counts.items() if n >= min_freq), key=lambda w: (-counts[w], w))
        if not kept:
            word, n = counts.most_common(1)[0]
            raise ValueError(f"{fn}: no token occurs at least min_freq={min_freq} times "
                             f"(the most frequent, {word!r}, occurs {n} times)")  # fmt: skip
        if max_size is not None:
            kept = kept[: max_size - len(cls.SPECIALS)]
        return cls(kept, lower)

    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text`` as strings: lowercased if ``lower``, split by ``WORD_PATTERN``."""
        return _split(text, self.lower)

    @property
    def vocab_size(self) -> int:
        return len(self._itos)

    def encode(self, text: str) -> list[int]:
        """One id per token of ``text``; tokens outside the vocabulary become ``unk_id``."""
        _check_text("WordTokenizer.encode", text)
        return [self._stoi.get(token, self.unk_id) for token in self.tokenize(text)]

    def decode(self, ids: Iterable[int]) -> str:
        """The tokens of ``ids`` joined by single spaces (specials written as ``<pad>``, ``<unk>``)."""
        return " ".join(self._itos[i] for i in _check_ids("WordTokenizer.decode", ids, self.vocab_size))

    def id_to_token(self, i: int) -> str:
        return self._itos[_check_ids("WordTokenizer.id_to_token", [i], self.vocab_size)[0]]

    def _to_json(self) -> dict[str, Any]:
        return {"lower": self.lower, "words": self._itos[len(self.SPECIALS) :]}

    @classmethod
    def _from_json(cls, data: dict[str, Any]) -> WordTokenizer:
        # Files saved before fit became a classmethod also hold its min_freq and max_size;
        # the words already reflect them, so they are not read.
        words = _field(data, "words", list)
        max_size = data.get("max_size")
        if isinstance(max_size, int) and len(cls.SPECIALS) + len(words) > max_size:
            raise ValueError(f"the file holds {len(words)} words, more than its max_size {max_size} allows "
                             f"(with {len(cls.SPECIALS)} specials)")  # fmt: skip
        return cls(words, _field(data, "lower", bool))


def _split(text: str, lower: bool) -> list[str]:
    return WORD_PATTERN.findall(text.lower() if lower else text)


# ----------------------------------------------------------------------------- byte pairs

# A chunk is an optional space and a word (" cat"), an optional space and a run of
# punctuation or symbols (" ..."), a run of whitespace that leaves its last space to the
# word after it, or whitespace at the end. Every character is a word character,
# whitespace or neither, so the chunks of a text always join back into the text.
CHUNK_PATTERN = re.compile(r" ?\w+| ?[^\w\s]+|\s+(?!\S)|\s+")


def _merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """``ids`` with every occurrence of ``pair``, left to right, replaced by ``new_id``."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


class BPETokenizer(BaseTokenizer):
    """Byte-level byte-pair encoding (BPE): tokens are byte strings learned by merging frequent pairs.

    Training (``BPETokenizer.fit(texts, vocab_size=...)``):

    1. Split each text into chunks with ``CHUNK_PATTERN`` (words with their leading space,
       punctuation, whitespace). Merges never cross a chunk boundary, so no token glues
       ``"dog."`` to ``" The"``, nor the end of one text to the start of the next. Equal
       chunks are handled once, weighted by their count over all texts.
    2. Write each chunk as its UTF-8 bytes. Ids 0..255 are the byte values themselves,
       so every text can be written and no input is ever unknown.
    3. Count each adjacent pair of ids over all chunks. The most frequent pair (a, b)
       (ties: the smallest pair) becomes token 256 + k, whose bytes are those of a
       followed by those of b, and replaces (a, b) everywhere, left to right.
    4. Repeat step 3 until there are ``vocab_size`` tokens, or no pair is left (then the
       vocabulary stays smaller).

    Encoding repeats, in each chunk, "merge the adjacent pair learned earliest", until
    no learned pair remains: that does to new text what training did to its own.
    Decoding concatenates the tokens' bytes and decodes them as UTF-8, so
    ``decode(encode(text)) == text`` for any text, including characters never seen in
    training (they stay single bytes). Ids that cut a character in two decode to U+FFFD.
    """

    def __init__(self, merges: Sequence[Sequence[int]] = ()) -> None:
        """A tokenizer with the given ``merges``: merge k makes token 256 + k from a pair of earlier ids."""
        self._vocab = [bytes([b]) for b in range(256)]
        self._ranks: dict[tuple[int, int], int] = {}
        for k, pair in enumerate(merges):
            if len(pair) != 2 or not all(isinstance(i, int) and 0 <= i < 256 + k for i in pair):
                raise ValueError(f"BPETokenizer: merge {k} is {pair!r}, expected two ids in 0..{255 + k}")
            a, b = pair
            if (a, b) in self._ranks:
                raise ValueError(f"BPETokenizer: merge {k} repeats the pair {(a, b)}")
            self._ranks[a, b] = 256 + k
            self._vocab.append(self._vocab[a] + self._vocab[b])

    @classmethod
    def fit(cls, texts: Iterable[str], *, vocab_size: int) -> BPETokenizer:
        """Learn ``vocab_size - 256`` merges from ``texts`` (see the class docstring)."""
        fn = "BPETokenizer.fit"
        if not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or vocab_size < 256:
            raise ValueError(f"{fn}: vocab_size must be an int >= 256 (the bytes), not {vocab_size!r}")
        texts = _check_texts(fn, texts)
        chunk_counts = Counter(chunk for text in texts for chunk in CHUNK_PATTERN.findall(text))
        try:
            words = [list(chunk.encode("utf-8")) for chunk in chunk_counts]
        except UnicodeEncodeError:  # find the text and the character, to name them
            for i, text in enumerate(texts):
                _check_unicode(fn, text, f" of text {i}")
            raise
        counts = list(chunk_counts.values())
        # Pair counts are kept up to date instead of recounted: a merge only changes the
        # chunks that contain the pair, and `where` says which ones those are.
        pair_counts: Counter[tuple[int, int]] = Counter()
        where: defaultdict[tuple[int, int], set[int]] = defaultdict(set)
        for w, ids in enumerate(words):
            for pair in pairwise(ids):
                pair_counts[pair] += counts[w]
                where[pair].add(w)
        merges = []
        for new_id in range(256, vocab_size):
            if not pair_counts:
                break
            best = min(pair_counts, key=lambda pair: (-pair_counts[pair], pair))
            merges.append(best)
            for w in where.pop(best):
                old = words[w]
                words[w] = new = _merge(old, best, new_id)
                for pair in pairwise(old):
                    pair_counts[pair] -= counts[w]
                for pair in pairwise(new):
                    pair_counts[pair] += counts[w]
                    where[pair].add(w)
            pair_counts = +pair_counts  # drop the pairs whose count fell to 0
        return cls(merges)

    @property
    def merges(self) -> list[tuple[int, int]]:
        """The learned pairs in order: merge k made token 256 + k."""
        return list(self._ranks)

    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    def _encode_chunk(self, chunk: bytes) -> list[int]:
        ids = list(chunk)
        while len(ids) >= 2:
            pair = min(pairwise(ids), key=lambda p: self._ranks.get(p, self.vocab_size))
            if pair not in self._ranks:
                break
            ids = _merge(ids, pair, self._ranks[pair])
        return ids

    def encode(self, text: str) -> list[int]:
        """The token ids of ``text``: each chunk's UTF-8 bytes, merged in the order learned."""
        _check_text("BPETokenizer.encode", text)
        ids = []
        try:
            for chunk in CHUNK_PATTERN.findall(text):
                ids += self._encode_chunk(chunk.encode("utf-8"))
        except UnicodeEncodeError:
            _check_unicode("BPETokenizer.encode", text)  # raises, naming the character
            raise
        return ids

    def token_bytes(self, i: int) -> bytes:
        """The bytes that token ``i`` stands for."""
        return self._vocab[_check_ids("BPETokenizer.token_bytes", [i], self.vocab_size)[0]]

    def id_to_token(self, i: int) -> str:
        """Token ``i`` readably: its bytes as UTF-8, with bytes that are not whole characters as ``\\xNN``."""
        return self.token_bytes(i).decode("utf-8", errors="backslashreplace")

    def decode(self, ids: Iterable[int]) -> str:
        """The tokens' bytes, concatenated, decoded as UTF-8 (invalid bytes become U+FFFD)."""
        ids = _check_ids("BPETokenizer.decode", ids, self.vocab_size)
        return b"".join(self._vocab[i] for i in ids).decode("utf-8", errors="replace")

    def _to_json(self) -> dict[str, Any]:
        return {"merges": [list(pair) for pair in self._ranks]}

    @classmethod
    def _from_json(cls, data: dict[str, Any]) -> BPETokenizer:
        merges = _field(data, "merges", list)
        for k, pair in enumerate(merges):
            if not isinstance(pair, list):
                raise TypeError(f"merge {k} is {pair!r}, expected a list of two ids")
        return cls(merges)
