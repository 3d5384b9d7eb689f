"""British and American spellings of one word."""

from knowledge.spelling import american_spelling, other_spelling


def test_a_british_spelling_reads_as_the_american_one():
    assert american_spelling("colours") == "colors"
    assert american_spelling("catalogue") == "catalog"
    assert american_spelling("colors") == "colors"
    assert american_spelling("widget") == "widget"


def test_each_spelling_has_the_other_and_other_words_none():
    assert other_spelling("color") == "colour"
    assert other_spelling("colour") == "color"
    assert other_spelling("licence") == "license"
    assert other_spelling("widget") is None
    assert other_spelling("straße") is None
