"""British and American spellings of one word (colour and color, catalogue and catalog, licence and license).

A book is written in one and its readers ask in either, so search and word matching treat the two as one word.
The pairs come from breame's list of dual spellings.
"""

from breame.spelling import get_american_spelling, get_british_spelling


def american_spelling(word: str) -> str:
    """The American spelling of a lower-case word, or the word itself when it has no other spelling."""
    return get_american_spelling(word) if word.isascii() else word


def other_spelling(word: str) -> str | None:
    """The word's spelling on the other side of the Atlantic, if it has one."""
    if not word.isascii():
        return None
    other = get_american_spelling(word)
    if other == word:
        other = get_british_spelling(word)
    return other if other != word else None
