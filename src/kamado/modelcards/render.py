"""A model card as a PDF, as ``CreateModelCardExportJob`` writes it.

The card's sections become headed text, its metrics tables, and numbers that belong together
charts: training metrics and each metric group's numbers as bar charts, ``linear_graph``
metrics as line plots, ``bar_chart`` metrics as bar charts, ``matrix`` metrics as grids.
ReportLab draws it (``pip install 'kamado[modelcards]'``); nothing here knows about S3 or HTTP.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any, Iterable
from xml.sax.saxutils import escape

SECTION_TITLES = {
    "model_overview": "Model overview",
    "intended_uses": "Intended uses",
    "business_details": "Business details",
    "training_details": "Training details",
    "evaluation_details": "Evaluation details",
    "additional_information": "Additional information",
    "model_package_details": "Model package details",
}
ORDER = ("model_overview", "model_package_details", "intended_uses", "business_details",
         "training_details", "evaluation_details", "additional_information")
# Labels AWS's console uses where a plain title-casing of the key reads badly.
_LABELS = {"model_id": "Model ID", "training_arn": "Training job ARN",
           "evaluation_job_arn": "Evaluation job ARN", "model_package_arn": "Model package ARN",
           "factors_affecting_model_efficiency": "Factors affecting model efficiency"}
_CHART_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


@dataclass
class CardInfo:
    """What the export knows about the card beside its content."""

    name: str
    version: int
    status: str
    arn: str = ""
    created: dt.datetime | None = None
    modified: dt.datetime | None = None
    exported: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))


def label(key: str) -> str:
    return _LABELS.get(key) or key.replace("_", " ").capitalize()


def format_value(value: Any) -> str:
    """A value as the PDF shows it: numbers compactly (0.973412 -> 0.973412, 3.0 -> 3)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {format_value(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def render(card: dict, info: CardInfo) -> bytes:
    """The PDF of ``card`` (parsed, schema-valid content) as bytes."""
    try:
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.units import mm
        from reportlab.platypus import SimpleDocTemplate
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise RuntimeError("exporting a model card needs reportlab; install "
                           "kamado[modelcards]") from None

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=f"Model card: {info.name}",
                            author="kamado", subject=f"{info.name} version {info.version}",
                            leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm)
    story = _Story(doc.width)
    story.header(info)
    for key in ORDER:
        if card.get(key):
            getattr(story, key)(card[key])
    if not any(card.get(k) for k in ORDER):
        story.para("This model card has no content yet.", "Italic")
    doc.build(story.flowables, onFirstPage=_footer(info), onLaterPages=_footer(info))
    return buf.getvalue()


def _footer(info: CardInfo):
    def draw(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColorRGB(0.4, 0.4, 0.4)
        canvas.drawString(doc.leftMargin, 10 * 2.8346,
                          f"{info.name} · version {info.version} · {info.status}")
        canvas.drawRightString(doc.leftMargin + doc.width, 10 * 2.8346, f"page {doc.page}")
        canvas.restoreState()
    return draw


class _Story:
    """The flowables of one card, section by section."""

    def __init__(self, width: float) -> None:
        from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet

        self.width = width
        self.flowables: list = []
        base = getSampleStyleSheet()
        # A heading stays on the page of what it heads.
        headings = {f"H{n}": ParagraphStyle(f"KeptHeading{n}", parent=base[f"Heading{n}"],
                                            keepWithNext=1) for n in (1, 2, 3)}
        self.styles = {
            "Title": base["Title"], **headings, "Body": base["BodyText"],
            "Italic": base["Italic"],
            "Small": ParagraphStyle("Small", parent=base["BodyText"], fontSize=8, leading=10),
            "Cell": ParagraphStyle("Cell", parent=base["BodyText"], fontSize=8.5, leading=10.5),
            "Head": ParagraphStyle("Head", parent=base["BodyText"], fontSize=8.5, leading=10.5,
                                   fontName="Helvetica-Bold"),
        }

    # --- building blocks ------------------------------------------------------------------
    def para(self, text: str, style: str = "Body") -> None:
        from reportlab.platypus import Paragraph

        self.flowables.append(Paragraph(escape(text).replace("\n", "<br/>"), self.styles[style]))

    def heading(self, text: str, level: int = 1) -> None:
        self.para(text, f"H{level}")

    def space(self, height: float = 4) -> None:
        from reportlab.platypus import Spacer

        self.flowables.append(Spacer(1, height))

    def _cell(self, value: Any, style: str = "Cell"):
        from reportlab.platypus import Paragraph

        return Paragraph(escape(format_value(value)), self.styles[style])

    def table(self, header: list[str] | None, rows: Iterable[Iterable[Any]],
              widths: list[float] | None = None) -> None:
        from reportlab.lib import colors
        from reportlab.platypus import Table, TableStyle

        data = [[self._cell(h, "Head") for h in header]] if header else []
        data += [[self._cell(v) for v in row] for row in rows]
        if not data:
            return
        columns = len(data[0])
        widths = widths or [self.width / columns] * columns
        table = Table(data, colWidths=[w * self.width / sum(widths) for w in widths],
                      hAlign="LEFT", repeatRows=1 if header else 0)
        style = [("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#b0b7c3")),
                 ("VALIGN", (0, 0), (-1, -1), "TOP"),
                 ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf5")))
        table.setStyle(TableStyle(style))
        self.flowables.append(table)
        self.space(6)

    def fields(self, section: dict, skip: tuple[str, ...] = ()) -> None:
        """A section's plain members as a two-column table of label and value."""
        rows = [(label(k), v) for k, v in section.items()
                if k not in skip and not isinstance(v, dict) and v not in (None, "", [])]
        self.table(None, rows, [1, 2.6])

    def bar_chart(self, title: str, labels: list[str], values: list[float],
                  y_name: str = "") -> None:
        from reportlab.graphics.charts.barcharts import VerticalBarChart
        from reportlab.graphics.shapes import Drawing, String
        from reportlab.lib import colors

        if not values:
            return
        height = 150
        drawing = Drawing(self.width, height + 30)
        chart = VerticalBarChart()
        chart.x, chart.y = 40, 30
        chart.width, chart.height = min(self.width - 60, 60 * len(values) + 40), height - 20
        chart.data = [list(values)]
        chart.categoryAxis.categoryNames = [_short(s, 14) for s in labels]
        chart.categoryAxis.labels.fontSize = 7
        chart.categoryAxis.labels.angle = 20 if len(values) > 4 else 0
        chart.categoryAxis.labels.boxAnchor = "ne" if len(values) > 4 else "n"
        chart.valueAxis.labels.fontSize = 7
        low, high = min(0.0, min(values)), max(0.0, max(values))
        chart.valueAxis.valueMin = low
        chart.valueAxis.valueMax = high + (high - low) * 0.1 or 1.0
        chart.bars[0].fillColor = colors.HexColor(_CHART_COLOURS[0])
        chart.barLabelFormat = "%.4g"
        chart.barLabels.fontSize = 6.5
        chart.barLabels.nudge = 6
        drawing.add(chart)
        drawing.add(String(40, height + 16, title, fontName="Helvetica-Bold", fontSize=9))
        if y_name:
            drawing.add(String(0, height + 4, y_name, fontSize=7))
        self.flowables.append(drawing)
        self.space(6)

    def line_chart(self, title: str, points: list[list[float]], x_name: str = "",
                   y_name: str = "") -> None:
        from reportlab.graphics.charts.lineplots import LinePlot
        from reportlab.graphics.shapes import Drawing, String
        from reportlab.lib import colors

        height = 160
        drawing = Drawing(self.width, height + 30)
        plot = LinePlot()
        plot.x, plot.y = 45, 30
        plot.width, plot.height = min(self.width - 70, 320), height - 20
        plot.data = [[(float(x), float(y)) for x, y in points]]
        plot.lines[0].strokeColor = colors.HexColor(_CHART_COLOURS[0])
        plot.lines[0].strokeWidth = 1.4
        plot.xValueAxis.labels.fontSize = plot.yValueAxis.labels.fontSize = 7
        drawing.add(plot)
        drawing.add(String(45, height + 16, title, fontName="Helvetica-Bold", fontSize=9))
        if x_name:
            drawing.add(String(45 + plot.width / 2, 6, x_name, fontSize=7, textAnchor="middle"))
        if y_name:
            drawing.add(String(0, height + 4, y_name, fontSize=7))
        self.flowables.append(drawing)
        self.space(6)

    # --- header ---------------------------------------------------------------------------
    def header(self, info: CardInfo) -> None:
        self.para(info.name, "Title")
        self.para(f"Model card, version {info.version} · status {info.status}", "H3")
        rows = [("Model card ARN", info.arn)] if info.arn else []
        if info.created:
            rows.append(("Created", _when(info.created)))
        if info.modified:
            rows.append(("Last modified", _when(info.modified)))
        rows.append(("Exported", _when(info.exported)))
        self.table(None, rows, [1, 2.6])

    # --- sections -------------------------------------------------------------------------
    def model_overview(self, section: dict) -> None:
        self.heading(SECTION_TITLES["model_overview"])
        self.fields(section)
        images = (section.get("inference_environment") or {}).get("container_image")
        if images:
            self.table(["Inference environment: container images"], [[i] for i in images])

    def model_package_details(self, section: dict) -> None:
        self.heading(SECTION_TITLES["model_package_details"])
        self.fields(section, skip=("source_algorithms", "inference_specification"))
        containers = (section.get("inference_specification") or {}).get("containers") or []
        if containers:
            self.table(["Image", "Model data", "Nearest model"],
                       [[c.get("image"), c.get("model_data_url"), c.get("nearest_model_name")]
                        for c in containers], [2, 2, 1])
        algorithms = section.get("source_algorithms") or []
        if algorithms:
            self.table(["Source algorithm", "Model data"],
                       [[a.get("algorithm_name"), a.get("model_data_url")] for a in algorithms])

    def intended_uses(self, section: dict) -> None:
        self.heading(SECTION_TITLES["intended_uses"])
        self.fields(section)

    def business_details(self, section: dict) -> None:
        self.heading(SECTION_TITLES["business_details"])
        self.fields(section)

    def training_details(self, section: dict) -> None:
        self.heading(SECTION_TITLES["training_details"])
        objective = section.get("objective_function") or {}
        if objective:
            function = objective.get("function") or {}
            rows = [(label(k), v) for k, v in function.items()]
            if objective.get("notes"):
                rows.append(("Notes", objective["notes"]))
            self.heading("Objective function", 2)
            self.table(None, rows, [1, 2.6])
        if section.get("training_observations"):
            self.heading("Observations", 2)
            self.para(section["training_observations"])
        job = section.get("training_job_details") or {}
        if not job:
            return
        self.heading("Training job", 2)
        rows = [("Training job ARN", job.get("training_arn"))] if job.get("training_arn") else []
        if job.get("training_datasets"):
            rows.append(("Datasets", job["training_datasets"]))
        images = (job.get("training_environment") or {}).get("container_image")
        if images:
            rows.append(("Container images", images))
        self.table(None, rows, [1, 2.6])
        for key, title in (("training_metrics", "Training metrics"),
                           ("user_provided_training_metrics", "User-provided training metrics")):
            metrics = job.get(key) or []
            if metrics:
                self.heading(title, 3)
                self.table(["Metric", "Value", "Notes"],
                           [[m["name"], m["value"], m.get("notes", "")] for m in metrics],
                           [2, 1, 2])
                self.bar_chart(title, [m["name"] for m in metrics],
                               [float(m["value"]) for m in metrics])
        for key, title in (("hyper_parameters", "Hyperparameters"),
                           ("user_provided_hyper_parameters", "User-provided hyperparameters")):
            values = job.get(key) or []
            if values:
                self.heading(title, 3)
                self.table(["Hyperparameter", "Value"],
                           [[h["name"], h["value"]] for h in values])

    def evaluation_details(self, evaluations: list) -> None:
        self.heading(SECTION_TITLES["evaluation_details"])
        for evaluation in evaluations:
            self.heading(f"Evaluation: {evaluation['name']}", 2)
            rows = []
            for key in ("evaluation_job_arn", "evaluation_observation", "datasets"):
                if evaluation.get(key):
                    rows.append((label(key), evaluation[key]))
            for key, value in (evaluation.get("metadata") or {}).items():
                rows.append((key, value))
            self.table(None, rows, [1, 2.6])
            for group in evaluation.get("metric_groups") or []:
                self._metric_group(group)

    def _metric_group(self, group: dict) -> None:
        self.heading(f"Metrics: {group['name']}", 3)
        simple = [m for m in group["metric_data"] if m["type"] in ("number", "string", "boolean")]
        if simple:
            self.table(["Metric", "Type", "Value", "Notes"],
                       [[m["name"], m["type"], m["value"], m.get("notes", "")] for m in simple],
                       [2, 0.8, 1, 2])
        numbers = [m for m in simple if m["type"] == "number"]
        if numbers:
            self.bar_chart(group["name"], [m["name"] for m in numbers],
                           [float(m["value"]) for m in numbers])
        for metric in group["metric_data"]:
            if metric["type"] == "linear_graph":
                self.line_chart(metric["name"], metric["value"], metric.get("x_axis_name", ""),
                                metric.get("y_axis_name", ""))
            elif metric["type"] == "bar_chart":
                names = metric.get("x_axis_name") or [str(i + 1)
                                                      for i in range(len(metric["value"]))]
                self.bar_chart(metric["name"], list(names), metric["value"],
                               metric.get("y_axis_name", ""))
            elif metric["type"] == "matrix":
                self.para(metric["name"], "Head")
                columns = metric.get("x_axis_name") or []
                rows = metric.get("y_axis_name") or []
                width = max(len(r) for r in metric["value"])
                header = [""] + [columns[i] if i < len(columns) else str(i + 1)
                                 for i in range(width)]
                self.table(header, [[rows[i] if i < len(rows) else str(i + 1), *row]
                                    for i, row in enumerate(metric["value"])])
            if metric["type"] not in ("number", "string", "boolean") and metric.get("notes"):
                self.para(metric["notes"], "Small")

    def additional_information(self, section: dict) -> None:
        self.heading(SECTION_TITLES["additional_information"])
        self.fields(section, skip=("custom_details",))
        custom = section.get("custom_details") or {}
        if custom:
            self.table(["Custom detail", "Value"], list(custom.items()))


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def _when(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
