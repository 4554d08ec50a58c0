"""Figures and the report as readers see them. driftlab run draws every
figure in SVG, PDF and PNG with findable text and embedded fonts. It writes
a self-contained report.html whose key numbers equal results.h5, a
report.pdf with one page per figure, and a manifest of every file. driftlab
render of the same results file gives the same bytes in any folder.

Needs poppler-utils (pdftotext, pdffonts, pdfinfo), numpy and h5py.
"""
import hashlib
import html.parser
import json
import math
import os
import re
import struct
import subprocess
import xml.etree.ElementTree as ElementTree

import h5py
import numpy as np

from harness import run_tests

FIGURES = ["token-strip", "attention-heatmap", "prompt-attention", "attention-entropy",
           "lock-in", "prompt-attention-map"]
FORMATS = ["svg", "pdf", "png"]
PPI = 60

BASE = """\
[experiment]
seed = 11
seeds = 6
formats = svg, pdf, png

[drift]
clusters = 3
tokens_per_cluster = 4
d_model = 8
prompt_length = 6
steps = 12
gain = 6
temperature = {temperatures}
keep_attention = {kept}

[figures]
png_ppi = {ppi}
strip_steps = 3
"""

# Five temperatures: a legend with one entry per temperature.
FEW = ["0", "0.5", "1", "1.5", "2"]
# Nine temperatures from 0 to 2: the legend collapses to a colour bar.
MANY = "0:2:9"

# Axis titles each figure's PDF must show, as pdftotext prints them.
AXIS_TITLES = {
    "token-strip": ["Attention (%)", "Prompt position", "Generated position"],
    "attention-heatmap": ["Key position", "Generation step", "Attention weight (%)"],
    "prompt-attention": ["Generation step", "Prompt attention (%)"],
    "attention-entropy": ["Generation step", "Normalised entropy"],
    "lock-in": ["Temperature", "Final lock-in"],
    "prompt-attention-map": ["Generation step", "Temperature", "Median prompt attention (%)"],
}


def config_text(temperatures, kept=2, ppi=PPI):
    if isinstance(temperatures, list):
        temperatures = ", ".join(temperatures)
    return BASE.format(temperatures=temperatures, kept=kept, ppi=ppi)


def run_config(ctx, name, text, *extra):
    """Write the config NAME.ini, run it into NAME/ and return the folder."""
    config = ctx.write_config(name + ".ini", text)
    ctx.driftlab_run("run", config, "-o", name, "-q", *extra)
    return ctx.path(name)


def few(ctx):
    """The folder of the five-temperature run, made once and shared."""
    if not hasattr(ctx, "_few"):
        ctx._few = run_config(ctx, "few", config_text(FEW))
    return ctx._few


def run_tool(*args):
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def pdf_text(path):
    """pdftotext's words of a PDF, joined by single spaces, with no space
    around "=" (pdftotext splits "T = 0" apart or not, by glyph spacing)."""
    text = " ".join(run_tool("pdftotext", path, "-").split())
    return re.sub(r" ?= ?", "=", text)


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def files_under(folder):
    """Every file below folder, as paths relative to it."""
    found = []
    for root, _, names in os.walk(folder):
        for name in names:
            found.append(os.path.relpath(os.path.join(root, name), folder))
    return sorted(found)


def png_size(path):
    with open(path, "rb") as f:
        header = f.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def svg_size_points(path):
    """The width and height of an SVG file in points."""
    root = ElementTree.parse(path).getroot()
    sizes = []
    for name in ("width", "height"):
        value = root.get(name)
        assert value is not None and value.endswith("pt"), f"{path}: {name}={value!r}"
        sizes.append(float(value[:-2]))
    return sizes


class ReportParser(html.parser.HTMLParser):
    """Collects what the report checks need: svg count, references, tables
    and the text of elements with an id."""

    def __init__(self):
        super().__init__()
        self.svg_count = 0
        self.references = []
        self.links = 0
        self.scripts = 0
        self.rows = []
        self.in_row = False
        self.text_of = {}
        self.current_id = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "svg":
            self.svg_count += 1
        if tag == "link":
            self.links += 1
        if tag == "script":
            self.scripts += 1
        for name, value in attrs:
            if name in ("src", "href", "xlink:href") and value is not None:
                self.references.append((tag, name, value))
        if tag == "tr":
            self.rows.append([])
            self.in_row = True
        if tag == "td" and self.in_row:
            self.rows[-1].append(attributes.get("data-value"))
        if tag in ("pre", "code", "span") and "id" in attributes:
            self.current_id = attributes["id"]
            self.text_of[self.current_id] = ""

    def handle_endtag(self, tag):
        if tag == "tr":
            self.in_row = False
        if tag in ("pre", "code", "span"):
            self.current_id = None

    def handle_data(self, data):
        if self.current_id is not None:
            self.text_of[self.current_id] += data


def parse_report(folder):
    parser = ReportParser()
    with open(os.path.join(folder, "report.html"), encoding="utf-8") as f:
        text = f.read()
    parser.feed(text)
    parser.close()
    return parser, text


# ---- files and formats ----


def test_run_writes_every_figure_in_every_format(ctx):
    folder = few(ctx)
    for name in FIGURES:
        for fmt in FORMATS:
            path = os.path.join(folder, "figures", f"{name}.{fmt}")
            assert os.path.getsize(path) > 0, f"{path} is missing or empty"
    leftovers = [path for path in files_under(folder) if path.endswith(".tmp") or
                 os.path.basename(path).startswith(".")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


def test_figure_pdfs_show_axis_titles_and_temperatures(ctx):
    folder = few(ctx)
    for name in FIGURES:
        text = pdf_text(os.path.join(folder, "figures", f"{name}.pdf"))
        for title in AXIS_TITLES[name]:
            assert title in text, f"{name}: axis title {title!r} not in:\n{text}"

    # the legends name every temperature
    for name in ("prompt-attention", "attention-entropy"):
        text = pdf_text(os.path.join(folder, "figures", f"{name}.pdf"))
        for t in FEW:
            assert f"T={t}" in text, f"{name}: legend entry 'T = {t}' not in:\n{text}"

    # the map labels its rows with the temperatures
    text = pdf_text(os.path.join(folder, "figures", "prompt-attention-map.pdf"))
    for t in FEW:
        assert re.search(rf"(^| ){re.escape(t)}( |$)", text), f"map row {t} not in:\n{text}"

    # the single-run figures name their run: the lowest temperature, seed 0
    for name in ("token-strip", "attention-heatmap"):
        text = pdf_text(os.path.join(folder, "figures", f"{name}.pdf"))
        assert "T=0, seed 0" in text, f"{name}: run not named in:\n{text}"


def test_figure_pdfs_embed_every_font(ctx):
    folder = few(ctx)
    for name in FIGURES + ["../report"]:
        path = os.path.normpath(os.path.join(folder, "figures", f"{name}.pdf"))
        fonts = run_tool("pdffonts", path).splitlines()[2:]
        assert fonts, f"{path}: pdffonts lists no fonts"
        for line in fonts:
            # columns from the right: emb sub uni object generation
            assert line.split()[-5] == "yes", f"{path}: font not embedded: {line}"


def test_svg_files_parse_as_xml(ctx):
    folder = few(ctx)
    for name in FIGURES:
        root = ElementTree.parse(os.path.join(folder, "figures", f"{name}.svg")).getroot()
        assert root.tag.endswith("svg"), f"{name}.svg: root element {root.tag}"


def test_png_size_matches_figure_at_configured_ppi(ctx):
    folder = few(ctx)
    for name in FIGURES:
        width_pt, height_pt = svg_size_points(os.path.join(folder, "figures", f"{name}.svg"))
        width, height = png_size(os.path.join(folder, "figures", f"{name}.png"))
        assert width == round(width_pt * PPI / 72), f"{name}: {width} px for {width_pt} pt"
        assert height == round(height_pt * PPI / 72), f"{name}: {height} px for {height_pt} pt"


def test_render_elsewhere_gives_identical_files(ctx):
    folder = few(ctx)
    ctx.driftlab_run("render", os.path.join(folder, "results.h5"), "-o", "rendered", "-q")
    other = ctx.path("rendered")
    assert files_under(other) == files_under(folder), \
        f"{files_under(other)} != {files_under(folder)}"
    for relative in files_under(folder):
        with open(os.path.join(folder, relative), "rb") as a, \
                open(os.path.join(other, relative), "rb") as b:
            assert a.read() == b.read(), f"{relative} differs after render"


def test_render_in_place_keeps_the_same_bytes(ctx):
    folder = run_config(ctx, "in_place", config_text(FEW))
    before = {path: sha256_of(os.path.join(folder, path)) for path in files_under(folder)}
    ctx.driftlab_run("render", os.path.join(folder, "results.h5"), "-q")
    after = {path: sha256_of(os.path.join(folder, path)) for path in files_under(folder)}
    assert after == before


def test_same_config_twice_gives_identical_manifest(ctx):
    config = ctx.write_config("twice.ini", config_text(FEW))
    ctx.driftlab_run("run", config, "-o", "twice_a", "-q", "-j", "1")
    ctx.driftlab_run("run", config, "-o", "twice_b", "-q", "-j", "2")
    with open(ctx.path("twice_a", "manifest.json"), "rb") as a, \
            open(ctx.path("twice_b", "manifest.json"), "rb") as b:
        assert a.read() == b.read()


def test_manifest_lists_every_file_with_size_and_hash(ctx):
    folder = few(ctx)
    with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    paths = [entry["path"] for entry in manifest["files"]]
    assert paths == sorted(paths), "manifest paths are not sorted"
    expected = [path for path in files_under(folder) if path != "manifest.json"]
    assert paths == expected, f"{paths} != {expected}"
    for entry in manifest["files"]:
        path = os.path.join(folder, entry["path"])
        assert entry["size"] == os.path.getsize(path), entry["path"]
        assert entry["sha256"] == sha256_of(path), entry["path"]
    with h5py.File(os.path.join(folder, "results.h5"), "r") as f:
        assert manifest["config_sha256"] == f.attrs["config_sha256"]


def test_format_option_limits_the_figure_files(ctx):
    folder = few(ctx)
    ctx.driftlab_run("render", os.path.join(folder, "results.h5"), "-o", "png_only",
                     "--format", "png", "-q")
    written = [path for path in files_under(ctx.path("png_only")) if path.startswith("figures/")]
    assert written == sorted(f"figures/{name}.png" for name in FIGURES), written
    parser, _ = parse_report(ctx.path("png_only"))
    assert parser.svg_count == len(FIGURES), "report.html needs the SVGs without svg files"


def test_no_render_writes_results_only(ctx):
    folder = run_config(ctx, "bare", config_text(FEW), "--no-render")
    assert files_under(folder) == ["results.h5"], files_under(folder)


# ---- report.html ----


def test_report_html_inlines_one_svg_per_figure(ctx):
    parser, text = parse_report(few(ctx))
    assert parser.svg_count == len(FIGURES), f"{parser.svg_count} inline <svg> elements"
    for name in FIGURES:
        assert f'<figure id="{name}">' in text, f"no figure element for {name}"


def test_report_html_references_nothing_outside(ctx):
    parser, text = parse_report(few(ctx))
    assert parser.links == 0, "report.html has a <link> element"
    assert parser.scripts == 0, "report.html has a <script> element"
    for tag, name, value in parser.references:
        assert value.startswith("#") or value.startswith("data:"), \
            f"<{tag} {name}={value[:60]!r}> points outside the page"
    assert "url(http" not in text, "CSS loads something by URL"
    assert "@import" not in text, "CSS imports a style sheet"


def test_report_html_ids_are_unique(ctx):
    _, text = parse_report(few(ctx))
    ids = re.findall(r'\sid="([^"]+)"', text)
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    assert not repeated, f"ids used more than once: {repeated[:10]}"


def test_report_html_has_config_text_and_hash(ctx):
    folder = few(ctx)
    parser, _ = parse_report(folder)
    with h5py.File(os.path.join(folder, "results.h5"), "r") as f:
        config = f.attrs["config_text"]
        sha = f.attrs["config_sha256"]
        version = f.attrs["driftlab_version"]
    assert parser.text_of.get("config-text") == config, "config text differs"
    assert parser.text_of.get("config-sha256") == sha
    assert parser.text_of.get("results-version") == version


def test_report_key_numbers_equal_results(ctx):
    folder = few(ctx)
    parser, _ = parse_report(folder)
    rows = [row for row in parser.rows if row]
    with h5py.File(os.path.join(folder, "results.h5"), "r") as f:
        drift = f["drift"]
        expected = np.column_stack([
            drift["temperature"][()],
            drift["prompt_attention_p50"][:, -1],
            drift["half_life_of_median"][()],
            drift["lock_in_mean"][:, -1],
            drift["attention_entropy_p50"][:, -1],
        ])
    assert len(rows) == len(expected), f"{len(rows)} table rows for {len(expected)} points"
    for row, want in zip(rows, expected):
        got = [float(value) for value in row]
        for column, (g, w) in enumerate(zip(got, want)):
            if math.isnan(w):
                assert math.isnan(g), f"column {column}: {g} where results.h5 has NaN"
            else:
                assert g == w, f"column {column}: {g!r} != {w!r}"


# ---- report.pdf ----


def test_report_pdf_has_one_page_per_figure(ctx):
    info = run_tool("pdfinfo", os.path.join(few(ctx), "report.pdf"))
    assert re.search(rf"^Pages: +{len(FIGURES)}$", info, re.MULTILINE), info


def test_report_pdf_has_captions(ctx):
    text = pdf_text(os.path.join(few(ctx), "report.pdf"))
    for number in range(1, len(FIGURES) + 1):
        assert f"Figure {number}." in text, f"caption of figure {number} missing"
    assert "median over 6 seeds" in text, text


def test_report_pdf_takes_source_date_epoch(ctx):
    folder = few(ctx)
    ctx.driftlab_run("render", os.path.join(folder, "results.h5"), "-o", "dated", "-q",
                     env={"SOURCE_DATE_EPOCH": "0"})
    info = run_tool("pdfinfo", "-isodates", ctx.path("dated", "report.pdf"))
    dates = [line for line in info.splitlines() if line.startswith("CreationDate:")]
    assert dates and dates[0].split()[1] == "1970-01-01T00:00:00Z", info
    if "SOURCE_DATE_EPOCH" not in os.environ:
        with open(os.path.join(folder, "report.pdf"), "rb") as f:
            assert b"/CreationDate" not in f.read(), \
                "a PDF carries a date without SOURCE_DATE_EPOCH"


# ---- other sweeps ----


def test_many_temperatures_collapse_legend_to_colour_bar(ctx):
    folder = run_config(ctx, "many", config_text(MANY))
    for name in ("prompt-attention", "attention-entropy"):
        text = pdf_text(os.path.join(folder, "figures", f"{name}.pdf"))
        assert "Temperature T" in text, f"{name}: no colour bar title in:\n{text}"
        for end in ("0.0", "2.0"):
            assert re.search(rf"(^| ){re.escape(end)}( |$)", text), \
                f"{name}: colour bar end {end} not in:\n{text}"
        assert "T=0.25" not in text, f"{name}: a legend entry is left:\n{text}"


def test_single_temperature_draws_every_figure(ctx):
    folder = run_config(ctx, "single", config_text("0.7"))
    for name in FIGURES:
        for fmt in FORMATS:
            assert os.path.exists(os.path.join(folder, "figures", f"{name}.{fmt}")), name
    text = pdf_text(os.path.join(folder, "figures", "prompt-attention.pdf"))
    assert "T=0.7" in text, text
    parser, html_text = parse_report(folder)
    assert parser.svg_count == len(FIGURES)
    assert html_text.count("Temperature is not swept") >= 4, "captions do not say so"
    rows = [row for row in parser.rows if row]
    assert len(rows) == 1, rows
    assert float(rows[0][0]) == 0.7, rows


def test_no_kept_seed_leaves_out_single_run_figures(ctx):
    folder = run_config(ctx, "unkept", config_text(FEW, kept=0))
    present = sorted({os.path.splitext(os.path.basename(p))[0]
                      for p in files_under(os.path.join(folder, "figures"))})
    assert present == sorted(FIGURES[2:]), present
    parser, text = parse_report(folder)
    assert parser.svg_count == len(FIGURES) - 2
    assert "keep_attention = 0" in text
    info = run_tool("pdfinfo", os.path.join(folder, "report.pdf"))
    assert re.search(rf"^Pages: +{len(FIGURES) - 2}$", info, re.MULTILINE), info


# ---- the render command ----


def test_render_help_and_usage_errors(ctx):
    done = ctx.driftlab_run("render", "--help")
    assert done.stdout.startswith("usage: driftlab render"), done.stdout
    done = ctx.driftlab_run("help", "render")
    assert done.stdout.startswith("usage: driftlab render"), done.stdout
    for args in (["render"], ["render", "a.h5", "b.h5"], ["render", "a.h5", "--format", "gif"],
                 ["render", "a.h5", "--no-such-option"]):
        done = ctx.driftlab_run(*args, check=False)
        assert done.returncode == 2, f"{args}: exit {done.returncode}"
        assert done.stderr.strip(), f"{args}: no message"


def test_render_of_missing_file_exits_1(ctx):
    done = ctx.driftlab_run("render", "no-such.h5", "-o", "missing", check=False)
    assert done.returncode == 1, done.returncode
    assert "no-such.h5" in done.stderr, done.stderr


def test_render_keeps_a_different_results_file(ctx):
    folder = few(ctx)
    os.makedirs(ctx.path("occupied"))
    with open(ctx.path("occupied", "results.h5"), "wb") as f:
        f.write(b"another result that must survive")
    done = ctx.driftlab_run("render", os.path.join(folder, "results.h5"), "-o", "occupied",
                            check=False)
    assert done.returncode == 1, done.returncode
    assert "results.h5" in done.stderr, done.stderr
    with open(ctx.path("occupied", "results.h5"), "rb") as f:
        assert f.read() == b"another result that must survive"


if __name__ == "__main__":
    run_tests(globals())
