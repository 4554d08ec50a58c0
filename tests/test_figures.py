"""Figures and the report as readers see them. driftlab run draws every
figure in SVG, PDF and PNG with findable text and embedded fonts. It writes
a self-contained report.html whose key numbers equal results.h5, a
report.pdf with one page per figure, and a manifest of every file. driftlab
render of the same results file gives the same bytes in any folder.

Renders of damaged, unfinished or swapped results files must fail before
they leave a folder that claims to be complete.

Needs poppler-utils (pdftotext, pdffonts, pdfinfo), numpy, h5py and a C
compiler (cc), which builds the shim that swaps a file during a render.
"""
import hashlib
import html.parser
import json
import math
import os
import re
import shutil
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


def config_text(temperatures, kept=2, ppi=PPI, figures=""):
    """The BASE config; figures adds lines to its [figures] section."""
    if isinstance(temperatures, list):
        temperatures = ", ".join(temperatures)
    return BASE.format(temperatures=temperatures, kept=kept, ppi=ppi) + figures


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


def copy_results(ctx, folder, name="results.h5"):
    """Copy the five-temperature results file to WORKDIR/FOLDER/NAME, a
    fresh folder, and return the copy's path."""
    shutil.rmtree(ctx.path(folder), ignore_errors=True)
    os.makedirs(ctx.path(folder))
    copy = ctx.path(folder, name)
    shutil.copyfile(os.path.join(few(ctx), "results.h5"), copy)
    return copy


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
    text = pdf_text(os.path.join(folder, "report.pdf"))
    for name in FIGURES[:2]:
        assert f"{name}: Not drawn" in text, f"report.pdf does not note {name}:\n{text}"
    assert "keep_attention=0" in text, text


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
    assert os.listdir(ctx.path("occupied")) == ["results.h5"], os.listdir(ctx.path("occupied"))


# ---- what a render accepts ----


def test_render_rejects_unfinished_runs(ctx):
    for folder, name in (("unfinished", "results.h5"), ("partial", "results.h5.partial")):
        path = copy_results(ctx, folder, name)
        with h5py.File(path, "r+") as f:
            f["drift/run_done"][1, 2] = 0
        out = folder + "_out"
        done = ctx.driftlab_run("render", path, "-o", out, check=False)
        assert done.returncode == 1, f"{name}: exit {done.returncode}"
        assert "only 29 of 30 runs are done, so the figures would be incomplete" \
            in done.stderr, done.stderr
        assert "driftlab run --resume" in done.stderr, done.stderr
        assert files_under(ctx.path(out)) == [], files_under(ctx.path(out))

        # info still describes the file
        done = ctx.driftlab_run("info", path)
        assert "29 of 30 runs done" in done.stdout, done.stdout


def test_render_rejects_edited_config_text(ctx):
    path = copy_results(ctx, "edited")
    with h5py.File(path, "r+") as f:
        stored = f.attrs["config_sha256"]
        text = f.attrs["config_text"].replace("steps = 12", "steps = 13")
        f.attrs["config_text"] = text
    done = ctx.driftlab_run("render", path, "-o", "edited_out", check=False)
    assert done.returncode == 1, done.returncode
    assert hashlib.sha256(text.encode()).hexdigest() in done.stderr, done.stderr
    assert stored in done.stderr, done.stderr
    assert files_under(ctx.path("edited_out")) == []


def test_render_of_folder_says_folder(ctx):
    done = ctx.driftlab_run("render", few(ctx), "-o", "of_folder", check=False)
    assert done.returncode == 1, done.returncode
    assert "is a folder, not a results file" in done.stderr, done.stderr
    assert "not an HDF5 file" not in done.stderr, done.stderr


def test_format_rejects_empty_items(ctx):
    results = os.path.join(few(ctx), "results.h5")
    for text in ("svg,,png", "png,", ",png", "", " , "):
        done = ctx.driftlab_run("render", results, "-o", "empty_format", "--format", text,
                                check=False)
        assert done.returncode == 2, f"{text!r}: exit {done.returncode}"
        assert f"--format: '{text}' is invalid: item" in done.stderr, done.stderr
        assert "is empty; list svg, pdf or png, separated by commas" in done.stderr, \
            done.stderr
    config = ctx.write_config("empty_format.ini", config_text(FEW))
    done = ctx.driftlab_run("run", config, "-o", "empty_format", "--format", "png,",
                            check=False)
    assert done.returncode == 2, done.returncode
    assert "item 2 is empty" in done.stderr, done.stderr
    assert not os.path.exists(ctx.path("empty_format")), "a rejected request wrote files"


def test_bad_source_date_epoch_stops_before_writing(ctx):
    bad = {"SOURCE_DATE_EPOCH": "yesterday"}
    config = ctx.write_config("bad_date.ini", config_text(FEW))
    done = ctx.driftlab_run("run", config, "-o", "bad_date_run", check=False, env=bad)
    assert done.returncode == 2, done.returncode
    assert "SOURCE_DATE_EPOCH='yesterday' is invalid" in done.stderr, done.stderr
    assert not os.path.exists(ctx.path("bad_date_run")), "run simulated anyway"

    done = ctx.driftlab_run("render", os.path.join(few(ctx), "results.h5"), "-o",
                            "bad_date_render", check=False, env=bad)
    assert done.returncode == 2, done.returncode
    assert "SOURCE_DATE_EPOCH" in done.stderr, done.stderr
    assert not os.path.exists(ctx.path("bad_date_render")), "render wrote files anyway"


def test_empty_source_date_epoch_means_unset(ctx):
    ctx.driftlab_run("render", os.path.join(few(ctx), "results.h5"), "-o", "empty_date", "-q",
                     env={"SOURCE_DATE_EPOCH": ""})
    for path in ("report.pdf", "figures/lock-in.pdf"):
        with open(ctx.path("empty_date", path), "rb") as f:
            assert b"/CreationDate" not in f.read(), f"{path} has a date"


# ---- the folder a render leaves ----


def test_render_removes_figures_it_did_not_draw(ctx):
    folder = run_config(ctx, "stale", config_text(FEW))
    keep = [os.path.join("figures", name) for name in ("notes.txt", "lock-in.svg.orig")]
    for relative in keep:
        with open(os.path.join(folder, relative), "w") as f:
            f.write("not a driftlab figure\n")

    # fewer formats
    ctx.driftlab_run("render", os.path.join(folder, "results.h5"), "--format", "svg", "-q")
    figures = [path for path in files_under(folder) if path.startswith("figures/")]
    expected = sorted([f"figures/{name}.svg" for name in FIGURES] + keep)
    assert figures == expected, figures
    with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
        listed = [entry["path"] for entry in json.load(f)["files"]]
    assert listed == [path for path in files_under(folder)
                      if path not in keep and path != "manifest.json"], listed

    # fewer figures: a run without kept seeds into the same folder
    unkept = ctx.write_config("stale_unkept.ini", config_text(FEW, kept=0))
    ctx.driftlab_run("run", unkept, "-o", "stale", "-q")
    names = {os.path.splitext(os.path.basename(path))[0] for path in files_under(folder)
             if path.startswith("figures/") and path not in keep}
    assert names == set(FIGURES[2:]), names
    for relative in keep:
        assert os.path.exists(os.path.join(folder, relative)), f"{relative} was removed"


def test_failed_render_leaves_no_report(ctx):
    shutil.rmtree(ctx.path("broken"), ignore_errors=True)
    shutil.copytree(few(ctx), ctx.path("broken"))
    path = ctx.path("broken", "results.h5")
    with h5py.File(path, "r+") as f:
        attention = f["drift/attention"]
        attention[...] = np.zeros(attention.shape)

    # in place: the old reports and manifest must not outlive the render
    done = ctx.driftlab_run("render", path, check=False)
    assert done.returncode == 1, done.returncode
    assert "hold no positive weight" in done.stderr, done.stderr
    for name in ("manifest.json", "report.html", "report.pdf"):
        assert not os.path.exists(ctx.path("broken", name)), f"{name} survived the failure"

    # elsewhere: the results file it linked goes again
    done = ctx.driftlab_run("render", path, "-o", "broken_out", check=False)
    assert done.returncode == 1, done.returncode
    assert not os.path.exists(ctx.path("broken_out", "results.h5")), \
        "the failed render left the linked results file"


SWAP_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

/* Renames $SWAP_FROM over $SWAP_TO just before the real call, as another
 * process could between driftlab loading a file and linking it. */
static void swap(void)
{
    const char *from = getenv("SWAP_FROM"), *to = getenv("SWAP_TO");
    if (from != NULL && to != NULL)
        rename(from, to);
}

int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
    int (*real)(int, const char *, int, const char *, int) =
        (int (*)(int, const char *, int, const char *, int))dlsym(RTLD_NEXT, "linkat");
    swap();
    return real(olddirfd, oldpath, newdirfd, newpath, flags);
}

int link(const char *oldpath, const char *newpath)
{
    int (*real)(const char *, const char *) =
        (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "link");
    swap();
    return real(oldpath, newpath);
}
"""


def test_render_never_places_another_file(ctx):
    compiler = shutil.which("cc") or shutil.which("gcc")
    assert compiler, "no C compiler for the link shim: apt-get install gcc"
    source = ctx.write_config("swap_shim.c", SWAP_SHIM)
    shim = ctx.path("swap_shim.so")
    run_tool(compiler, "-shared", "-fPIC", "-o", shim, source, "-ldl")

    # the other file has the same config, so only its bytes tell it apart
    path = copy_results(ctx, "swapped")
    other = ctx.path("swapped", "other.h5")
    shutil.copyfile(path, other)
    with h5py.File(other, "r+") as f:
        f["drift/lock_in_mean"][0, -1] = 0.5
    env = {
        "LD_PRELOAD": shim,
        "SWAP_FROM": other,
        "SWAP_TO": path,
        # an AddressSanitizer build must accept a library loaded before it
        "ASAN_OPTIONS": ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                               "verify_asan_link_order=0"])),
    }
    done = ctx.driftlab_run("render", path, "-o", "swapped_out", check=False, env=env)
    assert not os.path.exists(other), "the shim did not swap the files"
    assert done.returncode == 1, f"exit {done.returncode}:\n{done.stderr}"
    assert "is not the file that was loaded" in done.stderr, done.stderr
    assert not os.path.exists(ctx.path("swapped_out", "results.h5")), \
        "the other results file was left in the folder"
    assert not os.path.exists(ctx.path("swapped_out", "manifest.json"))


def test_manifest_rejects_names_that_are_not_utf8(ctx):
    path = os.path.join(os.fsencode(ctx.path("latin1")), b"caf\xe9.h5")  # Latin-1 bytes
    os.rename(copy_results(ctx, "latin1"), path)
    done = subprocess.run([ctx.driftlab, "render", path, "-o", "latin1_out"], cwd=ctx.workdir,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=600)
    assert done.returncode == 1, done.returncode
    assert b"caf\\xE9.h5: the file name is not valid UTF-8" in done.stderr, done.stderr
    assert files_under(ctx.path("latin1_out")) == [], files_under(ctx.path("latin1_out"))


def test_manifest_escapes_control_characters(ctx):
    name = "tab\there\x7f.h5"
    path = copy_results(ctx, "control", name)
    ctx.driftlab_run("render", path, "-o", "control_out", "-q")
    with open(ctx.path("control_out", "manifest.json"), "rb") as f:
        raw = f.read()
    assert b"\t" not in raw, raw[:400]
    assert b"\x7f" not in raw, raw[:400]
    listed = [entry["path"] for entry in json.loads(raw.decode("utf-8"))["files"]]
    assert name in listed, listed


# ---- labels ----


def test_svg_images_render_pixelated(ctx):
    folder = few(ctx)
    for name in ("attention-heatmap", "prompt-attention-map"):
        root = ElementTree.parse(os.path.join(folder, "figures", f"{name}.svg")).getroot()
        images = root.findall(".//{http://www.w3.org/2000/svg}image")
        assert images, f"{name}.svg has no <image>"
        for image in images:
            assert "image-rendering:pixelated" in image.get("style", ""), image.attrib.keys()
            assert image.get("image-rendering") == "optimizeSpeed", image.attrib.keys()
    _, text = parse_report(folder)
    tags = re.findall(r"<image\s[^>]*>", text)
    assert tags, "report.html has no <image>"
    for tag in tags:
        assert 'style="image-rendering:pixelated"' in tag, tag[:120]
        assert 'image-rendering="optimizeSpeed"' in tag, tag[:120]


def test_positions_past_99999_are_whole_numbers(ctx):
    config = ctx.write_config("long_prompt.ini", """\
[experiment]
seed = 3
seeds = 1
formats = pdf

[drift]
clusters = 2
tokens_per_cluster = 2
d_model = 4
prompt_length = 100000
steps = 2
keep_attention = 1

[figures]
png_ppi = 36
strip_steps = 1
""")
    ctx.driftlab_run("run", config, "-o", "long_prompt", "-q")
    strip = pdf_text(ctx.path("long_prompt", "figures", "token-strip.pdf")).split()
    assert "100000" in strip and "100001" in strip, strip
    # scaled by 10^5 they would read 0.99999, 1.00000, 1.00001
    assert not [word for word in strip if re.fullmatch(r"0\.9{4,}\d*|1\.0{4,}\d*", word)], strip
    heatmap = pdf_text(ctx.path("long_prompt", "figures", "attention-heatmap.pdf"))
    assert "\u00d710" not in heatmap, f"scaled position labels:\n{heatmap}"
    assert "100000" in heatmap.split(), heatmap


def test_close_temperatures_get_distinct_labels(ctx):
    temperatures = ["1", "1.00001", "1.00002"]
    folder = run_config(ctx, "close", config_text(temperatures,
                                                  figures="temperature = 1.00001\n"))
    for name in ("prompt-attention", "attention-entropy"):
        text = pdf_text(os.path.join(folder, "figures", f"{name}.pdf"))
        for t in temperatures:
            assert re.search(rf"T={re.escape(t)}( |$)", text), f"{name}: no T = {t} in:\n{text}"
    words = pdf_text(os.path.join(folder, "figures", "prompt-attention-map.pdf")).split()
    for t in temperatures:
        assert t in words, f"map row {t} not in {words}"
    for name in ("token-strip", "attention-heatmap"):
        text = pdf_text(os.path.join(folder, "figures", f"{name}.pdf"))
        assert "T=1.00001, seed 0" in text, f"{name}: run not named in:\n{text}"
    _, html_text = parse_report(folder)
    assert "from 1 to 1.00002" in html_text, "captions do not name the end temperatures"
    cells = re.findall(r'<td data-value="[^"]*">([^<]*)</td>', html_text)
    for t in temperatures:
        assert t in cells, f"key numbers do not show {t}: {cells[:12]}"


# ---- messages ----


def test_run_message_says_one_thread(ctx):
    config = ctx.write_config("one_thread.ini", config_text(["0"]))
    done = ctx.driftlab_run("run", config, "-o", "one_thread", "-j", "1", "--no-render")
    assert " on 1 thread\n" in done.stderr, done.stderr


def test_messages_name_paths_without_double_slash(ctx):
    done = ctx.driftlab_run("render", os.path.join(few(ctx), "results.h5"), "-o",
                            "slashed//")
    assert "slashed/report.html" in done.stderr, done.stderr
    assert "//" not in done.stderr, done.stderr


if __name__ == "__main__":
    run_tests(globals())
