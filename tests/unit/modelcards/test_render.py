"""A model card rendered to PDF: a real PDF whose pages show the card's name, its sections and
its metric values, for full cards, empty cards and text PDF syntax must escape."""

from __future__ import annotations

import datetime as dt

from kamado.modelcards.render import CardInfo, format_value, label, render
from tests.e2e.registry.conftest import card_content
from tests.pdftext import text_of

INFO = CardInfo(name="churn-card", version=3, status="Approved",
                arn="arn:aws:sagemaker:us-east-1:000000000000:model-card/churn-card",
                created=dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc),
                exported=dt.datetime(2024, 5, 2, 8, 30, tzinfo=dt.timezone.utc))


def test_a_full_card_shows_its_sections_tables_and_values():
    pdf = render(card_content(), INFO)
    assert pdf.startswith(b"%PDF-1.") and pdf.rstrip().endswith(b"%%EOF")
    text = text_of(pdf)
    for expected in ("churn-card", "Model card, version 3 · status Approved", "Model overview",
                     "Intended uses", "Business details", "Training details",
                     "Evaluation details", "Additional information",
                     "Rank customers by churn risk.",
                     "validation:auc", "0.973412", "accuracy", "0.9591", "true",
                     "Evaluation: holdout-2024", "review board", "2024-05-02 08:30:00 UTC"):
        assert expected in text, expected
    # The matrix is a grid: its cells are there, row by row.
    assert text.index("60") < text.index("104")


def test_charts_are_drawn_for_metrics():
    pdf = render(card_content(), INFO)
    text = text_of(pdf)
    # A bar chart labels its bars with their values, a line plot its axes.
    assert text.count("0.9734") >= 1  # the training metric's bar label (%.4g)
    assert "false positive rate" in text and "true positive rate" in text


def test_an_empty_card_still_renders():
    text = text_of(render({}, CardInfo(name="empty", version=1, status="Draft")))
    assert "empty" in text and "This model card has no content yet." in text


def test_text_that_pdf_and_markup_treat_specially_is_shown_as_written():
    card = {"model_overview": {"model_description": "uses (parens), \\backslashes & <tags>"}}
    text = text_of(render(card, CardInfo(name="odd", version=1, status="Draft")))
    # ReportLab may draw one line in several pieces (here: around the markup characters).
    assert "uses (parens), \\backslashes & <tags>" in "".join(text)


def test_values_and_labels_read_as_a_person_would_write_them():
    assert format_value(0.9734120001) == "0.973412"
    assert format_value(3) == "3" and format_value(True) == "true"
    assert format_value(["a", 1.5]) == "a, 1.5"
    assert label("model_id") == "Model ID" and label("purpose_of_model") == "Purpose of model"
