"""The plotting layer's files as readers see them: the demo figure in SVG,
PDF and PNG has its text findable and its fonts embedded, parses, has the
pixel size its resolution implies, and is byte-identical when drawn again.

Run as: python3 tests/test_plot_output.py --demo PLOT_DEMO --workdir DIR
Needs poppler-utils (pdftotext, pdffonts, pdfinfo); standard library only.
Prints one line per test, then "N passed, M failed"; exits 1 on any
failure.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import traceback
import xml.etree.ElementTree as ElementTree

PPI = 150
FORMATS = ("svg", "pdf", "png")

# Text the demo draws, as pdftotext prints it. "\u2212" is the minus sign
# of negative tick labels; superscripts come out as separate runs.
AXIS_TITLES = ["Generation step", "Prompt attention", "Key position", "Query step",
               "Context position", "Softmax weight (%)", "Attention weight"]
TICK_LABELS = ["0.000", "0.005", "0.010", "0.015", "0.020", "100", "200", "300", "400",
               "500", "600", "\u22121", "\u22122", "\u22123"]
OTHER_TEXT = ["attention on W", "\u03b1", "query at step 1", "latest query", "T = 0.5",
              "10\u201390 % of seeds", "generated", "the", "cat"]


class Context:
    def __init__(self, demo, workdir):
        self.demo = demo
        self.workdir = workdir
        self.runs = 0

    def render(self, env_extra=None, ppi=PPI):
        """Run the demo into a fresh folder; return (folder, stdout)."""
        self.runs += 1
        folder = os.path.join(self.workdir, f"run{self.runs}")
        os.makedirs(folder)
        env = dict(os.environ)
        env.pop("SOURCE_DATE_EPOCH", None)
        env.update(env_extra or {})
        done = subprocess.run([self.demo, folder, str(ppi)], capture_output=True, text=True,
                              env=env, stdin=subprocess.DEVNULL, timeout=120)
        if done.returncode != 0:
            raise AssertionError(f"plot_demo exited {done.returncode}:\n{done.stderr}")
        return folder, done.stdout

    def first(self):
        """The folder of a default render, made once and shared."""
        if not hasattr(self, "_first"):
            self._first = self.render()
        return self._first


def run_tool(*args):
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def test_demo_writes_all_formats(ctx):
    folder, _ = ctx.first()
    for fmt in FORMATS:
        path = os.path.join(folder, f"demo.{fmt}")
        assert os.path.getsize(path) > 0, f"{path} is empty"
    leftovers = [name for name in os.listdir(folder) if name.endswith(".tmp")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


def test_pdf_text_has_titles_and_ticks(ctx):
    folder, _ = ctx.first()
    text = run_tool("pdftotext", os.path.join(folder, "demo.pdf"), "-")
    for expected in AXIS_TITLES + TICK_LABELS + OTHER_TEXT:
        assert expected in text, f"{expected!r} not found by pdftotext in:\n{text}"


def test_pdf_fonts_are_embedded(ctx):
    folder, _ = ctx.first()
    listing = run_tool("pdffonts", os.path.join(folder, "demo.pdf")).splitlines()
    fonts = listing[2:]
    assert fonts, "pdffonts lists no fonts"
    for line in fonts:
        # The type column can contain a space ("CID TrueType"), so read the
        # columns from the right: emb sub uni object generation.
        columns = line.split()
        assert columns[-5] == "yes", f"font not embedded: {line}"
        assert "DejaVuSans" in columns[0], f"unexpected font: {line}"


def test_pdf_has_no_creation_date_by_default(ctx):
    folder, _ = ctx.first()
    with open(os.path.join(folder, "demo.pdf"), "rb") as f:
        data = f.read()
    assert b"/CreationDate" not in data, "PDF carries a creation date without SOURCE_DATE_EPOCH"
    assert b"/ModDate" not in data


def test_pdf_takes_source_date_epoch(ctx):
    folder, _ = ctx.render({"SOURCE_DATE_EPOCH": "0"})
    info = run_tool("pdfinfo", "-isodates", os.path.join(folder, "demo.pdf"))
    dates = [line for line in info.splitlines() if line.startswith("CreationDate:")]
    assert dates, f"no CreationDate in:\n{info}"
    assert dates[0].split()[1] == "1970-01-01T00:00:00Z", dates[0]


def test_invalid_source_date_epoch_fails(ctx):
    folder = os.path.join(ctx.workdir, "bad_date")
    os.makedirs(folder)
    env = dict(os.environ, SOURCE_DATE_EPOCH="yesterday")
    done = subprocess.run([ctx.demo, folder, str(PPI)], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 1, f"exit {done.returncode}"
    assert "SOURCE_DATE_EPOCH" in done.stderr, done.stderr
    assert "yesterday" in done.stderr, done.stderr
    assert not os.path.exists(os.path.join(folder, "demo.pdf")), "a PDF was written anyway"


def test_empty_source_date_epoch_means_unset(ctx):
    folder, _ = ctx.render({"SOURCE_DATE_EPOCH": ""})
    with open(os.path.join(folder, "demo.pdf"), "rb") as f:
        assert b"/CreationDate" not in f.read(), "an empty SOURCE_DATE_EPOCH gave a date"


def test_svg_images_render_pixelated(ctx):
    folder, _ = ctx.first()
    root = ElementTree.parse(os.path.join(folder, "demo.svg")).getroot()
    images = root.findall(".//{http://www.w3.org/2000/svg}image")
    assert images, "the demo's heat map and colour bar left no <image> in demo.svg"
    for image in images:
        assert image.get("style") == "image-rendering:pixelated", image.attrib.keys()
        assert image.get("image-rendering") == "optimizeSpeed", image.attrib.keys()


def test_svg_parses(ctx):
    folder, _ = ctx.first()
    root = ElementTree.parse(os.path.join(folder, "demo.svg")).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
    assert root.get("width") == "720pt", root.attrib
    assert root.get("height") == "540pt", root.attrib


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    assert head[12:16] == b"IHDR", "first chunk is not IHDR"
    return struct.unpack(">II", head[16:24])


def test_png_size_follows_ppi(ctx):
    folder, stdout = ctx.first()
    fields = dict(item.split("=") for item in stdout.split())
    width_pt, height_pt = float(fields["width_pt"]), float(fields["height_pt"])
    expected = (round(width_pt * PPI / 72), round(height_pt * PPI / 72))
    assert png_size(os.path.join(folder, "demo.png")) == expected

    low, _ = ctx.render(ppi=72)
    assert png_size(os.path.join(low, "demo.png")) == (round(width_pt), round(height_pt))


def test_second_run_is_byte_identical(ctx):
    first, _ = ctx.first()
    second, _ = ctx.render()
    for fmt in FORMATS:
        with open(os.path.join(first, f"demo.{fmt}"), "rb") as a, \
             open(os.path.join(second, f"demo.{fmt}"), "rb") as b:
            assert a.read() == b.read(), f"demo.{fmt} differs between two runs"


def test_source_date_epoch_is_reproducible(ctx):
    first, _ = ctx.render({"SOURCE_DATE_EPOCH": "1700000000"})
    second, _ = ctx.render({"SOURCE_DATE_EPOCH": "1700000000"})
    with open(os.path.join(first, "demo.pdf"), "rb") as a, \
         open(os.path.join(second, "demo.pdf"), "rb") as b:
        assert a.read() == b.read(), "PDFs with the same SOURCE_DATE_EPOCH differ"


TESTS = [test_demo_writes_all_formats, test_pdf_text_has_titles_and_ticks,
         test_pdf_fonts_are_embedded, test_pdf_has_no_creation_date_by_default,
         test_pdf_takes_source_date_epoch, test_invalid_source_date_epoch_fails,
         test_empty_source_date_epoch_means_unset, test_svg_images_render_pixelated,
         test_svg_parses, test_png_size_follows_ppi, test_second_run_is_byte_identical,
         test_source_date_epoch_is_reproducible]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", required=True, help="path to the plot_demo binary")
    parser.add_argument("--workdir", required=True, help="scratch folder, emptied first")
    args = parser.parse_args()

    for tool in ("pdftotext", "pdffonts", "pdfinfo"):
        if shutil.which(tool) is None:
            print(f"{tool} not found: apt-get install poppler-utils")
            print("0 passed, 1 failed")
            sys.exit(1)

    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    ctx = Context(os.path.abspath(args.demo), os.path.abspath(args.workdir))

    passed = failed = 0
    for test in TESTS:
        try:
            test(ctx)
        except Exception:  # any exception is a failed test, reported in full
            failed += 1
            print(f"FAIL {test.__name__}")
            traceback.print_exc(file=sys.stdout)
        else:
            passed += 1
            print(f"ok   {test.__name__}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or not TESTS else 0)


if __name__ == "__main__":
    main()
