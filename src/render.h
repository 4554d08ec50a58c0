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
 * possible), so that OUT contains every file its manifest lists.
 */
#ifndef DRIFTLAB_RENDER_H
#define DRIFTLAB_RENDER_H

#include "error.h"

/* Renders results_path into out_dir, creating out_dir and out_dir/figures
 * when missing. formats is a set of DL_FORMAT_* bits (config.h), or 0 for
 * the formats stored in the file's /figures group. Returns 0, or -1 with
 * err naming the file or setting that failed; files already renamed into
 * place stay, and no temporary file is left. Refuses to replace a
 * different file of the same name as the results file in out_dir. */
int dl_render(const char *results_path, const char *out_dir, unsigned formats, dl_error *err);

#endif
