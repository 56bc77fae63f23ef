"""The vocabulary: special tokens, lower-casing, frequency order, round trip."""

import pytest

from explanations.compute.tokenize import tokenize
from explanations.compute.vocab import Vocabulary


def test_build_puts_pad_and_unk_first_then_lowercased_tokens_by_frequency():
    vocab = Vocabulary.build([["The", "cat", "sat"], ["the", "Cat", "the"], ["a"]])
    assert Vocabulary.PAD_INDEX == 0
    assert Vocabulary.UNK_INDEX == 1
    # counts: the 3, cat 2, then a and sat once each, ties alphabetical
    assert [vocab.token(i) for i in range(len(vocab))] == [
        "<pad>",
        "<unk>",
        "the",
        "cat",
        "a",
        "sat",
    ]
    assert len(vocab) == 6


def test_encode_lowercases_and_maps_unknown_tokens_to_unk():
    vocab = Vocabulary.build([["Good", "movie"]])
    assert vocab.encode(["GOOD", "film", "movie"]) == [2, 1, 3]
    assert "good" in vocab
    assert "film" not in vocab


def test_min_freq_and_max_size_count_the_special_tokens():
    texts = [["a", "a", "a", "b", "b", "c"]]
    assert len(Vocabulary.build(texts, min_freq=2)) == 4
    small = Vocabulary.build(texts, max_size=3)
    assert [small.token(i) for i in range(len(small))] == ["<pad>", "<unk>", "a"]


def test_special_token_strings_in_the_data_do_not_get_a_second_entry():
    vocab = Vocabulary.build([["<pad>", "<unk>", "x"]])
    assert len(vocab) == 3


def test_round_trip_through_a_dict():
    vocab = Vocabulary.build([tokenize("Don't panic, it's state-of-the-art!")[0]])
    again = Vocabulary.from_dict(vocab.to_dict())
    assert again == vocab
    assert again.encode(["don't", "panic"]) == vocab.encode(["Don't", "PANIC"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "needs a 'tokens' list"),
        ({"tokens": ["a", "b"]}, "must start with '<pad>', '<unk>'"),
        ({"tokens": ["<pad>", "<unk>", "a", "a"]}, "'a' appears twice"),
    ],
)
def test_malformed_data_is_refused(data, message):
    with pytest.raises(ValueError, match=message):
        Vocabulary.from_dict(data)


def test_bad_build_arguments_are_refused():
    with pytest.raises(ValueError, match="min_freq"):
        Vocabulary.build([], min_freq=0)
    with pytest.raises(ValueError, match="max_size"):
        Vocabulary.build([], max_size=1)
