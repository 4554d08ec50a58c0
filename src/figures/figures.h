/* figures.h - the drift and LoRA figures, each built as a plot_figure
 * from results.
 *
 * Every builder reads only the dl_results a results file was loaded into
 * (and, for the single-run figures, one dl_results_run), so figures can be
 * drawn again from results.h5 alone. Builders do no I/O: render.c loads
 * the results and writes the files.
 *
 * Which data a figure shows:
 * - single-run figures (token strip, attention heat map): the run at the
 *   [figures] temperature and seed, with every other sweep axis at its
 *   first value;
 * - multi-run figures (prompt attention, entropy, lock-in, prompt
 *   attention map): one line, point or row per temperature, with every
 *   other sweep axis at its first value. Without a temperature axis they
 *   show the single temperature, and the caption states it.
 *
 * Units: attention quantities (prompt attention, attention weights) are
 * drawn in percent; entropy and lock-in are shares in [0, 1].
 *
 * The LoRA figures (ids from DL_FIGURE_LORA_SHAPE on, stems "lora-...")
 * read results->lora. Statistics over seeds are medians and the 10th and
 * 90th percentiles, interpolated as numpy.percentile does. Where a figure
 * shows one value of an axis (rank, alpha, scaling, seed), it takes the
 * first value in file order unless its file header says otherwise.
 *
 * Every caption is plain UTF-8 text (no markup): one or more sentences
 * that say what the figure shows, the number of seeds behind each
 * statistic, and the fixed values of the sweep axes it does not show.
 */
#ifndef DRIFTLAB_FIGURES_H
#define DRIFTLAB_FIGURES_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "plot.h"
#include "results.h"

typedef enum {
    DL_FIGURE_TOKEN_STRIP = 0,
    DL_FIGURE_ATTENTION_HEATMAP,
    DL_FIGURE_PROMPT_ATTENTION,
    DL_FIGURE_ATTENTION_ENTROPY,
    DL_FIGURE_LOCK_IN,
    DL_FIGURE_PROMPT_ATTENTION_MAP,
    DL_FIGURE_LORA_SHAPE,
    DL_FIGURE_LORA_PROBE,
    DL_FIGURE_LORA_KL_MAP,
    DL_FIGURE_LORA_KL_RANK,
    DL_FIGURE_LORA_PARAMS,
    DL_FIGURE_LORA_SPECTRA,
    DL_FIGURE_LORA_PHI,
    DL_FIGURE_LORA_FIT_FORGETTING,
    DL_FIGURE_LORA_LOSS,
    DL_FIGURE_COUNT
} dl_figure_id;

/* A built figure and its caption. */
typedef struct {
    plot_figure *figure; /* owned; draw or write it with output.h */
    char *caption;       /* owned, plain UTF-8 text */
} dl_figure;

/* The run the single-run figures show. */
typedef struct {
    size_t point;      /* sweep point: the [figures] temperature, other axes
                          at index 0 */
    size_t kept_index; /* index of the [figures] seed among the kept seeds */
} dl_figure_run_choice;

/* Returns the file name stem of a figure ("token-strip"), or NULL for an
 * id outside the enum. */
const char *dl_figure_name(dl_figure_id id);

/* True for the figures that need the attention rows of one kept run. */
bool dl_figure_needs_run(dl_figure_id id);

/* True for the figures drawn from /lora, false for those from /drift. */
bool dl_figure_is_lora(dl_figure_id id);

/* Returns why LoRA figure id cannot be drawn from results (plain text,
 * static), or NULL when it can. Examples are a dataset that an older file
 * does not contain, or one rank where the figure compares two. */
const char *dl_figure_lora_skip_reason(dl_figure_id id, const dl_results *results);

/* Finds the run of the single-run figures: the temperature equal to
 * results->figures.temperature (exactly, or within a relative 1e-9, as
 * the config accepts it) and the kept seed equal to results->figures.seed.
 * Returns 0, or -1 with err naming the /figures setting that matches no
 * stored value (or that no seed keeps its attention rows). */
int dl_figures_choose_run(const dl_results *results, dl_figure_run_choice *choice,
                          dl_error *err);

/* Builds figure id into *out with theme (which must outlive the figure).
 * run is the run chosen by dl_figures_choose_run, read with
 * dl_results_load_run; it is required when dl_figure_needs_run(id) and
 * ignored otherwise. Returns 0, or -1 with err set and *out empty when the
 * results cannot be drawn (for example no step in the run) or memory runs
 * out. Free with dl_figure_free. */
int dl_figure_build(dl_figure_id id, const dl_results *results,
                    const dl_figure_run_choice *choice, const dl_results_run *run,
                    const plot_theme *theme, dl_figure *out, dl_error *err);

/* Frees the figure and caption and empties *figure. A zeroed figure is a
 * no-op. */
void dl_figure_free(dl_figure *figure);

/* ---- the builders behind dl_figure_build; same contract ---- */

int dl_figure_token_strip(const dl_results *results, const dl_figure_run_choice *choice,
                          const dl_results_run *run, const plot_theme *theme,
                          dl_figure *out, dl_error *err);
int dl_figure_attention_heatmap(const dl_results *results,
                                const dl_figure_run_choice *choice,
                                const dl_results_run *run, const plot_theme *theme,
                                dl_figure *out, dl_error *err);
int dl_figure_prompt_attention(const dl_results *results, const plot_theme *theme,
                               dl_figure *out, dl_error *err);
int dl_figure_attention_entropy(const dl_results *results, const plot_theme *theme,
                                dl_figure *out, dl_error *err);
int dl_figure_lock_in(const dl_results *results, const plot_theme *theme, dl_figure *out,
                      dl_error *err);
int dl_figure_prompt_attention_map(const dl_results *results, const plot_theme *theme,
                                   dl_figure *out, dl_error *err);

/* The LoRA builders; results->has_lora must be true and
 * dl_figure_lora_skip_reason NULL. */
int dl_figure_lora_shape(const dl_results *results, const plot_theme *theme, dl_figure *out,
                         dl_error *err);
int dl_figure_lora_probe(const dl_results *results, const plot_theme *theme, dl_figure *out,
                         dl_error *err);
int dl_figure_lora_kl_map(const dl_results *results, const plot_theme *theme, dl_figure *out,
                          dl_error *err);
int dl_figure_lora_kl_rank(const dl_results *results, const plot_theme *theme, dl_figure *out,
                           dl_error *err);
int dl_figure_lora_params(const dl_results *results, const plot_theme *theme, dl_figure *out,
                          dl_error *err);
int dl_figure_lora_spectra(const dl_results *results, const plot_theme *theme, dl_figure *out,
                           dl_error *err);
int dl_figure_lora_phi(const dl_results *results, const plot_theme *theme, dl_figure *out,
                       dl_error *err);
int dl_figure_lora_fit_forgetting(const dl_results *results, const plot_theme *theme,
                                  dl_figure *out, dl_error *err);
int dl_figure_lora_loss(const dl_results *results, const plot_theme *theme, dl_figure *out,
                        dl_error *err);

#endif
