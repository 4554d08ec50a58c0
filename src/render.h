/* render.h - figures and the report from a results file alone.
 *
 * dl_render reads results.h5 through results.h (nothing is simulated
 * again) and writes, in the output folder OUT:
 *   OUT/figures/NAME.svg, .pdf, .png   every figure in every format asked
 *                                      for (PNG at the stored png_ppi)
 *   OUT/report.html                    one self-contained page
 *   OUT/report.pdf                     one page per figure with caption
 *   OUT/manifest.json                  path, size and SHA-256 of each of
 *                                      the above and of the results file
 * Every file is written to a temporary name and renamed on success, and
 * the same results file gives byte-identical outputs (PDF dates follow
 * SOURCE_DATE_EPOCH, see plot/output.h).
 *
 * When OUT is not the folder of the results file, the results file is
 * hard-linked into OUT under its own name (copied where a link is not
 * possible), so that OUT contains every file its manifest lists. The
 * placed file is checked to be the file that was loaded.
 *
 * A folder never claims more than it contains. The old manifest.json,
 * report.html and report.pdf are removed before the first figure is
 * replaced. Figure files of driftlab's figure names that this render did
 * not draw are removed, and the manifest is written last. So a render
 * that fails midway leaves no manifest or report.
 */
#ifndef DRIFTLAB_RENDER_H
#define DRIFTLAB_RENDER_H

#include "error.h"

/* Renders results_path into out_dir, creating out_dir and out_dir/figures
 * when missing. formats is a set of DL_FORMAT_* bits (config.h), or 0 for
 * the formats stored in the file's /figures group. Returns 0, or -1 with
 * err naming the file or setting that failed.
 *
 * Before writing anything it checks the environment
 * (dl_render_check_environment), that the results file's name is valid
 * UTF-8 (manifest.json lists it) and loads the file (dl_results_load
 * rejects unfinished runs). A different file of the results file's name
 * in out_dir stops the render with out_dir unchanged. After a later
 * failure, figures already renamed into place stay, the old reports and
 * manifest are gone, a results file this render linked or copied is
 * removed again, and no temporary file is left. */
int dl_render(const char *results_path, const char *out_dir, unsigned formats, dl_error *err);

/* Checks what a render reads from the environment: SOURCE_DATE_EPOCH,
 * which must be unset, empty or a whole number of seconds (output.h).
 * Returns 0, or -1 with err naming the value. Commands call it before
 * they write anything. */
int dl_render_check_environment(dl_error *err);

/* Removes out_dir's manifest.json, report.html and report.pdf (the
 * manifest first), for when the files beside them change: a render does
 * it before replacing a figure, and run --no-render after replacing
 * results.h5. Missing files are fine. Returns 0, or -1 with err naming a
 * file that cannot be removed. */
int dl_render_remove_reports(const char *out_dir, dl_error *err);

#endif
