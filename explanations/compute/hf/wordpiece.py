"""Train a BERT WordPiece tokenizer on texts, locally: the demo's, the tests' and the bench's.

Pure ``tokenizers``/``transformers`` code (no django): the demo builds its classifier's
tokenizer with it, the test factories their tiny BERT's, and the attribution bench its
BERT-shaped model's.
"""

from collections.abc import Sequence

from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import BertTokenizer

# BERT's special tokens, by the keyword the tokenizer takes them under.
SPECIALS = {
    "pad_token": "[PAD]",
    "unk_token": "[UNK]",
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "mask_token": "[MASK]",
}
SPECIAL_TOKENS = list(SPECIALS.values())


def wordpiece_tokenizer(texts: Sequence[str], *, vocab_size: int, max_length: int) -> BertTokenizer:
    """Return a fast BERT tokenizer (``is_fast``) whose WordPiece vocabulary is trained on ``texts``.

    The trainer stops below ``vocab_size`` when the texts hold fewer pieces. It gives word
    continuations (``##e``) ids in hash-map order, which breaks ties between equally frequent
    merges differently from run to run (huggingface/tokenizers#1794); declaring every
    continuation character up front fixes their ids, so the same texts give the same
    vocabulary. The vocabulary is then loaded into a fresh WordPiece model, so only the five
    BERT special tokens are special.
    """
    normalizer = normalizers.BertNormalizer(lowercase=True)
    characters = sorted({c for text in texts for c in normalizer.normalize_str(text)})
    continuations = [f"##{c}" for c in characters if not c.isspace()]
    trained = Tokenizer(models.WordPiece(unk_token=SPECIALS["unk_token"]))
    trained.normalizer = normalizer
    trained.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trained.train_from_iterator(
        list(texts),
        trainers.WordPieceTrainer(
            vocab_size=vocab_size,
            special_tokens=SPECIAL_TOKENS + continuations,
            show_progress=False,
        ),
    )
    tokenizer = Tokenizer(
        models.WordPiece(
            trained.get_vocab(with_added_tokens=False), unk_token=SPECIALS["unk_token"]
        )
    )
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.add_special_tokens(SPECIAL_TOKENS)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    tokenizer.decoder = decoders.WordPiece()
    # In transformers 5 BertTokenizer is the fast, ``tokenizers``-backed class
    # (BertTokenizerFast is an alias of it that type checkers do not see).
    return BertTokenizer(
        tokenizer_object=tokenizer,
        model_max_length=max_length,
        unk_token=SPECIALS["unk_token"],
        pad_token=SPECIALS["pad_token"],
        cls_token=SPECIALS["cls_token"],
        sep_token=SPECIALS["sep_token"],
        mask_token=SPECIALS["mask_token"],
    )
