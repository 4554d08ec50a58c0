"""The LoRA figures and their place in the report.

driftlab run on a config with only [lora], and on one with [drift] and
[lora], draws every lora-* figure in SVG, PDF and PNG; runs with init =
svd and with task_scale = 0 check the captions that depend on them. report.html and
report.pdf show them after the drift figures with their captions, and the
manifest lists them. A second render gives the same bytes. Captions and
driftlab info agree with values read from results.h5 with h5py, and
degenerate sweeps still render.

Needs poppler-utils (pdfinfo), numpy and h5py.

Run by CTest as
    python3 test_lora_figures.py --driftlab BIN --configs DIR --workdir DIR
"""
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ElementTree

import h5py
import numpy as np

from harness import run_tests

LORA_FIGURES = ["lora-shape", "lora-probe", "lora-kl-map", "lora-kl-rank", "lora-params",
                "lora-spectra", "lora-phi", "lora-fit-forgetting", "lora-loss"]
DRIFT_FIGURES = ["token-strip", "attention-heatmap", "prompt-attention", "attention-entropy",
                 "lock-in", "prompt-attention-map"]
FORMATS = ["svg", "pdf", "png"]
PPI = 50

# task_rank 2 is one of the ranks, so the shape diagram shows rank 2.
LORA_ONLY = f"""\
[experiment]
seed = 3
seeds = 5, 9, 11
formats = svg, pdf, png

[lora]
D = 16
N = 8
task_rank = 2
rank = 1, 2, 4
alpha = 0, 2, 8
steps = 40
curve_length = 9

[figures]
png_ppi = {PPI}
"""

BOTH = f"""\
[experiment]
seed = 7
seeds = 2

[drift]
clusters = 3
tokens_per_cluster = 4
d_model = 8
prompt_length = 4
steps = 6

[lora]
D = 12
N = 6
task_rank = 3
rank = 1, 2, 4
alpha = 4
scaling = standard, rslora
steps = 20

[figures]
png_ppi = {PPI}
"""

# One rank (not the task rank), one alpha, one seed: phi compares the
# smallest with the largest rank, which are the same, and alpha = 0 leaves
# every update 0, so lora-phi and lora-spectra are skipped.
DEGENERATE = f"""\
[experiment]
seed = 1
seeds = 4..4

[lora]
D = 10
N = 5
task_rank = 2
rank = 3
alpha = 0
steps = 10

[figures]
png_ppi = {PPI}
"""


# init = svd starts each adapter at the top-r principal components of W,
# so its update s B A - s B_init A_init can reach rank 2r.
SVD = f"""\
[experiment]
seed = 5
seeds = 2

[lora]
D = 12
N = 6
task_rank = 2
rank = 1, 2
alpha = 4
init = svd
steps = 20

[figures]
png_ppi = {PPI}
"""

# task_scale = 0 makes dW* = 0: every relative error and optimum is NaN.
ZERO_TASK = f"""\
[experiment]
seed = 6
seeds = 2

[lora]
D = 12
N = 6
task_rank = 2
task_scale = 0
rank = 1, 2, 4
alpha = 4
steps = 20

[figures]
png_ppi = {PPI}
"""


def run_config(ctx, name, text):
    """Run NAME.ini into the folder NAME once per test file; return it."""
    cache = f"_folder_{name}"
    if not hasattr(ctx, cache):
        config = ctx.write_config(name + ".ini", text)
        ctx.driftlab_run("run", config, "-o", name, "-q")
        setattr(ctx, cache, ctx.path(name))
    return getattr(ctx, cache)


def run_tool(*args):
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def png_size(path):
    with open(path, "rb") as f:
        header = f.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def svg_size_points(path):
    root = ElementTree.parse(path).getroot()
    sizes = []
    for name in ("width", "height"):
        value = root.get(name)
        assert value is not None and value.endswith("pt"), f"{path}: {name}={value!r}"
        sizes.append(float(value[:-2]))
    return sizes


def report_text(folder):
    with open(os.path.join(folder, "report.html"), encoding="utf-8") as f:
        return f.read()


def caption_of(html, name):
    """The caption text of figure NAME in report.html, unescaped enough
    for number checks."""
    match = re.search(rf'<figure id="{name}">.*?<figcaption><b>Figure \d+\.</b> (.*?)'
                      r"</figcaption>", html, re.DOTALL)
    assert match, f"report.html has no figure {name} with a caption"
    return match.group(1).replace("&#39;", "'").replace("&amp;", "&")


def pdf_pages(path):
    info = run_tool("pdfinfo", path)
    match = re.search(r"^Pages: +(\d+)$", info, re.MULTILINE)
    assert match, info
    return int(match.group(1))


def lora_values(folder):
    """The /lora datasets and attributes the checks compare with."""
    with h5py.File(os.path.join(folder, "results.h5"), "r") as f:
        group = f["lora"]
        return {
            "D": int(group.attrs["D"]), "N": int(group.attrs["N"]),
            "task_rank": int(group.attrs["task_rank"]),
            "rank": group["rank"][()], "alpha": group["alpha"][()],
            "eval_kl": group["eval_kl"][()],
            "full_rank_eval_kl": group["full_rank_eval_kl"][()],
        }


# ---- files and formats ----


MANY_CATEGORIES = """\
[experiment]
seeds = 1
formats = png

[lora]
D = 64
N = 64
task_rank = 2
rank = 1:40:40
alpha = 0:31:32
steps = 2
n_train = 16
n_eval = 16
n_old = 16
"""

LONG_ALPHA_LABELS = """\
[experiment]
seeds = 1
formats = png

[lora]
D = 16
N = 16
task_rank = 2
rank = 1, 2
alpha = 0.000123456, 0.000234567, 1234.56789, 2345.6789, 3456.789, 4567.89, 5678.9, 6789.1
steps = 2
"""


ROUNDING_RANGE = """\
[experiment]
seed = 1
seeds = 2
formats = png

[lora]
D = 16
N = 8
task_rank = 2
n_train = 32
n_eval = 32
n_old = 16
steps = 200
curve_length = 10
rank = 1, 4
init = svd
alpha = 1e-300
"""


def test_kl_map_of_rounding_range(ctx):
    """Medians one ulp apart gave the colour bar a range too narrow to
    draw, so every run of this valid config failed to render."""
    folder = run_config(ctx, "rounding_range", ROUNDING_RANGE)
    assert os.path.exists(os.path.join(folder, "figures", "lora-kl-map.png"))


def test_many_ranks_and_alphas_still_draw(ctx):
    """40 ranks, 32 alphas and long alpha labels once failed the render
    with overlapping or too many tick labels; the axes now label every
    k-th category."""
    for name, text in (("many", MANY_CATEGORIES), ("long_alphas", LONG_ALPHA_LABELS)):
        folder = run_config(ctx, name, text)
        for figure in LORA_FIGURES:
            path = os.path.join(folder, "figures", figure + ".png")
            assert os.path.exists(path), (name, figure)


def test_lora_only_draws_every_lora_figure(ctx):
    folder = run_config(ctx, "lora_only", LORA_ONLY)
    for name in LORA_FIGURES:
        for fmt in FORMATS:
            path = os.path.join(folder, "figures", f"{name}.{fmt}")
            assert os.path.getsize(path) > 0, f"{path} is missing or empty"
    for name in DRIFT_FIGURES:
        assert not os.path.exists(os.path.join(folder, "figures", f"{name}.svg")), name


def test_lora_svg_parse_and_png_size_follows_ppi(ctx):
    folder = run_config(ctx, "lora_only", LORA_ONLY)
    for name in LORA_FIGURES:
        width_pt, height_pt = svg_size_points(os.path.join(folder, "figures", f"{name}.svg"))
        width, height = png_size(os.path.join(folder, "figures", f"{name}.png"))
        assert width == round(width_pt * PPI / 72), f"{name}: {width} px for {width_pt} pt"
        assert height == round(height_pt * PPI / 72), f"{name}: {height} px for {height_pt} pt"


def test_lora_report_html_has_every_figure_and_caption(ctx):
    folder = run_config(ctx, "lora_only", LORA_ONLY)
    html = report_text(folder)
    for name in LORA_FIGURES:
        assert len(caption_of(html, name)) > 40, name
    assert html.count("<svg") == len(LORA_FIGURES)
    assert 'id="lora-key-numbers"' in html


def test_lora_key_numbers_equal_results(ctx):
    folder = run_config(ctx, "lora_only", LORA_ONLY)
    values = lora_values(folder)
    html = report_text(folder)
    table = html[html.index('<table id="lora-key-numbers">'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr>(<td.*?)</tr>", table)
    assert len(rows) == len(values["rank"]), rows
    for i, row in enumerate(rows):
        cells = [float(v) for v in re.findall(r'data-value="([^"]+)"', row)]
        assert cells[0] == values["rank"][i], row
        assert cells[1] == values["rank"][i] * (values["D"] + values["N"]), row
        # eval KL at alpha 2 (the first above 0) and the first scaling
        assert cells[2] == np.median(values["eval_kl"][i, 1, 0, :]), row
    full = re.search(r'<tr id="lora-full-rank">(.*?)</tr>', table).group(1)
    cells = [float(v) for v in re.findall(r'data-value="([^"]+)"', full)]
    assert cells[0] == values["D"] * values["N"], full
    assert cells[1] == np.median(values["full_rank_eval_kl"]), full


def test_lora_report_pdf_has_one_page_per_figure(ctx):
    folder = run_config(ctx, "lora_only", LORA_ONLY)
    assert pdf_pages(os.path.join(folder, "report.pdf")) == len(LORA_FIGURES)


def test_lora_manifest_lists_figures_with_hashes(ctx):
    folder = run_config(ctx, "lora_only", LORA_ONLY)
    with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    listed = {entry["path"]: entry for entry in manifest["files"]}
    for name in LORA_FIGURES:
        for fmt in FORMATS:
            path = f"figures/{name}.{fmt}"
            assert path in listed, f"manifest misses {path}"
            full = os.path.join(folder, path)
            assert listed[path]["sha256"] == sha256_of(full), path
            assert listed[path]["size"] == os.path.getsize(full), path
    for name in ("report.html", "report.pdf", "results.h5"):
        assert listed[name]["sha256"] == sha256_of(os.path.join(folder, name)), name


def test_lora_render_twice_gives_identical_bytes(ctx):
    folder = run_config(ctx, "lora_only", LORA_ONLY)
    results = os.path.join(folder, "results.h5")
    again = ctx.path("lora_again")
    shutil.rmtree(again, ignore_errors=True)
    ctx.driftlab_run("render", results, "-o", again, "-q")
    names = [f"figures/{name}.{fmt}" for name in LORA_FIGURES for fmt in FORMATS]
    for name in names + ["report.html", "report.pdf", "manifest.json"]:
        assert sha256_of(os.path.join(folder, name)) == sha256_of(os.path.join(again, name)), name


# ---- captions and info against the results file ----


def test_shape_caption_counts_parameters_of_task_rank(ctx):
    folder = run_config(ctx, "lora_only", LORA_ONLY)
    values = lora_values(folder)
    r = values["task_rank"]
    assert r in values["rank"]
    trained = r * (values["D"] + values["N"])
    caption = caption_of(report_text(folder), "lora-shape")
    assert f"r = {r} " in caption, caption
    assert f"r (D + N) = {trained} parameters" in caption, caption
    assert f"D N = {values['D'] * values['N']} " in caption, caption


def test_kl_rank_caption_gives_full_rank_baseline(ctx):
    folder = run_config(ctx, "lora_only", LORA_ONLY)
    baseline = np.median(lora_values(folder)["full_rank_eval_kl"])
    caption = caption_of(report_text(folder), "lora-kl-rank")
    assert f"full-rank baseline, {baseline:.4g} nats" in caption, caption
    assert "3 seeds" in caption, caption
    # alpha = 0 changes nothing, so the line figures show the next alpha
    assert "alpha = 2 (the 2nd of 3 values)" in caption, caption


def test_info_prints_lora_summary_matching_h5py(ctx):
    folder = run_config(ctx, "lora_only", LORA_ONLY)
    values = lora_values(folder)
    out = ctx.driftlab_run("info", os.path.join(folder, "results.h5")).stdout
    assert "D 16 x N 8, task rank 2" in out, out
    assert "lora ranks:       3 values: 1, 2, 4" in out, out
    assert "lora alphas:      3 values: 0, 2, 8" in out, out
    assert "lora seeds:       3 values: 5, 9, 11" in out, out
    # eval_kl [rank, alpha, scaling, seed]: alpha 2, the first above 0 as
    # in the figures, and the first scaling
    assert "median eval KL over seeds at alpha 2 (the first alpha above 0, as in the " \
        "figures), scaling standard" in out, out
    for i, rank in enumerate(values["rank"]):
        median = np.median(values["eval_kl"][i, 1, 0, :])
        line = re.search(rf"^  rank {rank} +(\S+)$", out, re.MULTILINE)
        assert line, out
        assert abs(float(line.group(1)) - median) <= 1e-5 * abs(median), (rank, line.group(1))
    full = re.search(r"^  full rank +(\S+) ", out, re.MULTILINE)
    assert full, out
    baseline = np.median(values["full_rank_eval_kl"])
    assert abs(float(full.group(1)) - baseline) <= 1e-5 * abs(baseline)


def test_info_names_alpha_when_every_alpha_is_zero(ctx):
    folder = run_config(ctx, "degenerate", DEGENERATE)
    values = lora_values(folder)
    out = ctx.driftlab_run("info", os.path.join(folder, "results.h5")).stdout
    assert "median eval KL over seeds at alpha 0 (every alpha is 0)" in out, out
    line = re.search(r"^  rank 3 +(\S+)$", out, re.MULTILINE)
    assert line, out
    median = np.median(values["eval_kl"][0, 0, 0, :])
    assert abs(float(line.group(1)) - median) <= 1e-5 * abs(median), line.group(1)


def key_numbers_text(html):
    start = html.index("<h2>LoRA key numbers</h2>")
    return html[start:html.index("</table>", start)]


def test_key_numbers_name_first_positive_alpha(ctx):
    text = key_numbers_text(report_text(run_config(ctx, "lora_only", LORA_ONLY)))
    assert "at alpha = 2 (the first alpha above 0, as in the figures)" in text, text


ALL_ALPHAS_ZERO = """\
[experiment]
seeds = 1
formats = svg

[lora]
D = 10
N = 5
task_rank = 2
rank = 1, 3
alpha = 0
steps = 5
"""


def test_phi_at_alpha_zero_says_nothing_was_learned(ctx):
    html = report_text(run_config(ctx, "all_alphas_zero", ALL_ALPHAS_ZERO))
    caption = caption_of(html, "lora-phi")
    assert "With alpha = 0 nothing is learned" in caption, caption


def test_key_numbers_say_every_alpha_is_zero(ctx):
    text = key_numbers_text(report_text(run_config(ctx, "degenerate", DEGENERATE)))
    assert "at alpha = 0 (every alpha is 0, so this is the first, as in the figures)" in text, \
        text
    assert "the first alpha above 0" not in text, text


def test_key_numbers_fill_full_rank_error(ctx):
    folder = run_config(ctx, "lora_only", LORA_ONLY)
    with h5py.File(os.path.join(folder, "results.h5"), "r") as f:
        expected = np.median(f["lora/full_rank_relative_error"][()])
    text = key_numbers_text(report_text(folder))
    full = re.search(r'<tr id="lora-full-rank">(.*?)</tr>', text).group(1)
    cells = re.findall(r"<td[^>]*>", full)
    assert len(cells) == 5, full
    values = [float(v) for v in re.findall(r'data-value="([^"]+)"', full)]
    # parameters, eval KL, forgetting, relative error
    assert len(values) == 4, full
    assert values[3] == expected, full


def test_svd_captions_drop_rank_bound(ctx):
    folder = run_config(ctx, "svd", SVD)
    with h5py.File(os.path.join(folder, "results.h5"), "r") as f:
        assert f["lora"].attrs["init"] == "svd"
    html = report_text(folder)
    kl_rank = caption_of(html, "lora-kl-rank")
    assert "can reach rank 2r, so the rank-r optimum is a reference and not a bound" in kl_rank, \
        kl_rank
    spectra = caption_of(html, "lora-spectra")
    assert "U = s B A \u2212 s B_init A_init (init = svd)" in spectra, spectra
    assert "at most r singular" not in spectra, spectra
    # the kaiming run keeps the bound
    plain = caption_of(report_text(run_config(ctx, "lora_only", LORA_ONLY)), "lora-kl-rank")
    assert "not a bound" not in plain, plain


def test_zero_task_skips_empty_panels(ctx):
    folder = run_config(ctx, "zero_task", ZERO_TASK)
    with h5py.File(os.path.join(folder, "results.h5"), "r") as f:
        assert np.all(f["lora/task_singular_values"][()] == 0)
        assert np.all(np.isnan(f["lora/relative_error"][()]))
        assert np.all(np.isnan(f["lora/eckart_young_error"][()]))
    html = report_text(folder)
    kl_rank = caption_of(html, "lora-kl-rank")
    assert "is not shown: it is NaN at every rank" in kl_rank, kl_rank
    assert "optimum is 0" not in kl_rank, kl_rank
    assert "Right:" not in kl_rank, kl_rank
    assert re.search(r'<p id="lora-spectra"><b>lora-spectra</b>: Not drawn: the task update '
                     r"dW\* of the first seed is 0", html), "no reason for the missing spectra"
    assert not os.path.exists(os.path.join(folder, "figures", "lora-spectra.svg"))


def test_loss_caption_names_training_kl(ctx):
    folder = run_config(ctx, "lora_only", LORA_ONLY)
    caption = caption_of(report_text(folder), "lora-loss")
    assert caption.startswith("Training KL(teacher \u2016 adapted) on the training inputs: "
                              "the training cross-entropy minus"), caption

    copy = broken_copy(ctx, folder, "no_entropy")
    with h5py.File(copy, "r+") as f:
        del f["lora/train_teacher_entropy"]
    ctx.driftlab_run("render", copy, "-q")
    caption = caption_of(report_text(os.path.dirname(copy)), "lora-loss")
    assert "The file has no /lora/train_teacher_entropy" in caption, caption
    assert caption.startswith("Training cross-entropy"), caption


# ---- drift and LoRA in one file ----


def test_both_sections_put_lora_after_drift(ctx):
    folder = run_config(ctx, "both", BOTH)
    html = report_text(folder)
    order = [html.index(f'<figure id="{name}">') for name in DRIFT_FIGURES + LORA_FIGURES]
    assert order == sorted(order), "figures are not in drift-then-LoRA order"
    assert pdf_pages(os.path.join(folder, "report.pdf")) == len(DRIFT_FIGURES + LORA_FIGURES)
    for name in DRIFT_FIGURES + LORA_FIGURES:
        assert os.path.getsize(os.path.join(folder, "figures", f"{name}.png")) > 0, name


def test_both_sections_map_has_panel_per_scaling(ctx):
    folder = run_config(ctx, "both", BOTH)
    caption = caption_of(report_text(folder), "lora-kl-map")
    assert "One panel per scaling." in caption, caption
    with open(os.path.join(folder, "figures", "lora-kl-map.svg"), encoding="utf-8") as f:
        svg = f.read()
    # two heat maps, drawn as embedded images
    assert svg.count("<image") >= 2, "expected one heat map per scaling"


def test_info_of_both_sections_describes_both(ctx):
    folder = run_config(ctx, "both", BOTH)
    out = ctx.driftlab_run("info", os.path.join(folder, "results.h5")).stdout
    assert "vocabulary:" in out, out
    assert "lora scalings:    2 values: standard, rslora" in out, out


# ---- degenerate sweeps and bad files ----


def test_degenerate_sweep_skips_with_reasons(ctx):
    folder = run_config(ctx, "degenerate", DEGENERATE)
    html = report_text(folder)
    assert re.search(r'<p id="lora-phi"><b>lora-phi</b>: Not drawn: the smallest and the '
                     r"largest rank", html), "no reason for the missing phi figure"
    assert re.search(r'<p id="lora-spectra"><b>lora-spectra</b>: Not drawn: every alpha',
                     html), "no reason for the missing spectra figure"
    for name in ("lora-phi", "lora-spectra"):
        assert not os.path.exists(os.path.join(folder, "figures", f"{name}.svg")), name
    drawn = [name for name in LORA_FIGURES if name not in ("lora-phi", "lora-spectra")]
    for name in drawn:
        assert os.path.getsize(os.path.join(folder, "figures", f"{name}.svg")) > 0, name
    assert pdf_pages(os.path.join(folder, "report.pdf")) == len(drawn)
    # rank 3 is the only rank, and not the task rank 2
    assert "the middle rank of the sweep" in caption_of(html, "lora-shape")


def test_render_names_dataset_of_wrong_shape(ctx):
    folder = run_config(ctx, "lora_only", LORA_ONLY)
    copy = broken_copy(ctx, folder, "broken")
    broken = os.path.dirname(copy)
    with h5py.File(copy, "r+") as f:
        del f["lora/forgetting"]
        f["lora"].create_dataset("forgetting", data=np.zeros((2, 2)))
    done = ctx.driftlab_run("render", copy, "-o", os.path.join(broken, "out"), check=False)
    assert done.returncode == 1, done.stderr
    assert "/lora/forgetting: the dataset has shape 2 x 2, expected 3 x 3 x 1 x 3" in done.stderr, \
        done.stderr
    assert not os.path.exists(os.path.join(broken, "out", "manifest.json"))


def broken_copy(ctx, folder, name):
    """Copy folder's results.h5 to WORKDIR/NAME/results.h5 and return it."""
    target = ctx.path(name)
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    copy = os.path.join(target, "results.h5")
    shutil.copyfile(os.path.join(folder, "results.h5"), copy)
    return copy


def test_render_names_missing_dataset(ctx):
    folder = run_config(ctx, "lora_only", LORA_ONLY)
    copy = broken_copy(ctx, folder, "missing")
    with h5py.File(copy, "r+") as f:
        del f["lora/eval_kl"]
    done = ctx.driftlab_run("render", copy, check=False)
    assert done.returncode == 1, done.stderr
    assert "/lora/eval_kl: the dataset is missing" in done.stderr, done.stderr
    info = ctx.driftlab_run("info", copy, check=False)
    assert info.returncode == 1, info.stderr
    assert "/lora/eval_kl: the dataset is missing" in info.stderr, info.stderr


def test_render_rejects_swapped_dimensions(ctx):
    # rank and alpha both have 3 values, so only the labels tell them apart
    folder = run_config(ctx, "lora_only", LORA_ONLY)
    copy = broken_copy(ctx, folder, "swapped")
    with h5py.File(copy, "r+") as f:
        group = f["lora"]
        values = np.swapaxes(group["eval_kl"][()], 0, 1)
        del group["eval_kl"]
        swapped = group.create_dataset("eval_kl", data=values)
        for dim, label in enumerate(["alpha", "rank", "scaling", "seed"]):
            swapped.dims[dim].attach_scale(group[label])
    done = ctx.driftlab_run("render", copy, check=False)
    assert done.returncode == 1, done.stderr
    assert "/lora/eval_kl: dimension 0 is labelled 'alpha', expected 'rank'" in done.stderr, \
        done.stderr


def test_render_rejects_unknown_scaling(ctx):
    folder = run_config(ctx, "lora_only", LORA_ONLY)
    copy = broken_copy(ctx, folder, "scaling")
    with h5py.File(copy, "r+") as f:
        f["lora/scaling"][0] = "<b>bold</b>"
    done = ctx.driftlab_run("render", copy, check=False)
    assert done.returncode == 1, done.stderr
    assert "/lora/scaling: value '<b>bold</b>' is invalid" in done.stderr, done.stderr


def drop_scaling_axis(path):
    """Rewrite /lora of path in the layout written before the scaling axis
    existed: every dataset loses its scaling dimension (of length 1), the
    scaling coordinate goes, and the group gets a scaling attribute."""
    with h5py.File(path, "r+") as f:
        group = f["lora"]
        names = [name for name, item in group.items() if isinstance(item, h5py.Dataset)]
        for name in names:
            dataset = group[name]
            labels = [next(iter(dim.keys()), "") for dim in dataset.dims]
            if "scaling" not in labels or name == "scaling":
                continue
            axis = labels.index("scaling")
            values = np.take(dataset[()], 0, axis=axis)
            attributes = dict(dataset.attrs)
            kept = [label for label in labels if label != "scaling"]
            del group[name]
            rewritten = group.create_dataset(name, data=values)
            for key in ("units", "long_name", "description"):
                if key in attributes:
                    rewritten.attrs[key] = attributes[key]
            for dim, label in enumerate(kept):
                rewritten.dims[dim].attach_scale(group[label])
        scaling = group["scaling"][0]
        del group["scaling"]
        group.attrs["scaling"] = scaling.decode() if isinstance(scaling, bytes) else scaling


def test_render_reads_file_without_scaling_axis(ctx):
    folder = run_config(ctx, "lora_only", LORA_ONLY)
    copy = broken_copy(ctx, folder, "older")
    older = os.path.dirname(copy)
    drop_scaling_axis(copy)
    with h5py.File(copy, "r") as f:
        assert f["lora/eval_kl"].shape == (3, 3, 3)
    ctx.driftlab_run("render", copy, "-q")
    html = report_text(older)
    for name in LORA_FIGURES:
        caption_of(html, name)
    assert "Scaling standard (the only value)." in caption_of(html, "lora-kl-map")


if __name__ == "__main__":
    run_tests(globals())
