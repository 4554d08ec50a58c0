/* figures_internal.h - helpers shared by the figure builders: growing
 * caption text, picking sweep points, the temperature colours and number
 * labels. Not part of the public interface.
 */
#ifndef DRIFTLAB_FIGURES_INTERNAL_H
#define DRIFTLAB_FIGURES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "figures.h"
#include "lora_results.h"

/* More lines than this turn the legend of the line figures into a colour
 * bar, because a legend of many similar viridis shades cannot be read. */
#define FIG_LEGEND_MAX 6

/* ---- text that grows ---- */

/* A string built piece by piece. After an allocation failure it stays
 * failed and fig_text_take reports it, so callers append without checks. */
typedef struct {
    char *data;
    size_t length, capacity;
    bool failed;
} fig_text;

void fig_text_append(fig_text *text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Returns the built string, which the caller frees, and empties text; or
 * NULL with err set when an append ran out of memory. */
char *fig_text_take(fig_text *text, dl_error *err);
void fig_text_free(fig_text *text);

/* Writes value for a label: %.4g, so 0.30000000000000004 reads 0.3.
 * Returns buffer. For measured values only: a sweep value such as a
 * temperature takes fig_temperature_text or dl_sweep_values_format, which
 * never merge two values into one text. */
const char *fig_number(double value, char *buffer, size_t size);

/* ---- sweep points ---- */

/* The sweep points of the multi-run figures: one per temperature, in
 * ascending order of temperature, with every other axis at index 0. */
typedef struct {
    size_t count;
    double *temperature; /* [count] */
    size_t *point;       /* [count] */
    bool swept;          /* temperature is a sweep axis */
    int digits;          /* significant digits of fig_temperature_text */
} fig_points;

/* Fills points for results. Returns 0, or -1 with err set when memory
 * runs out. Free with fig_points_free. */
int fig_points_by_temperature(const dl_results *results, fig_points *points, dl_error *err);
void fig_points_free(fig_points *points);

/* Writes temperature t (one of points) for a label, legend entry, title
 * or caption: its shortest exact text (dl_sweep_values_format) when that
 * has at most points->digits significant digits, else t rounded to
 * points->digits. digits is the least number from 4 up that keeps every
 * temperature of points apart, so 1, 1.00001 and 1.00002 read as such
 * and 0.1778279410038923 reads 0.1778. Returns buffer. */
const char *fig_temperature_text(const fig_points *points, double t, char *buffer,
                                 size_t size);

/* Writes the temperature of sweep point point as fig_temperature_text
 * does for the temperatures of results. Returns 0, or -1 with err set
 * when memory runs out. */
int fig_point_temperature_text(const dl_results *results, size_t point, char *buffer,
                               size_t size, dl_error *err);

/* Returns the point whose axis a has index index[a] for every axis. */
size_t fig_point_of(const dl_results *results, const size_t *index);

/* Appends "top_p = 0.8, gain = 5" for the sweep axes other than
 * temperature, at their first value written exactly
 * (dl_sweep_values_format), or nothing when there are none. Returns the
 * number of axes appended. */
size_t fig_append_fixed_axes(fig_text *text, const dl_results *results);

/* Appends the sentence about the fixed sweep axes of the multi-run
 * figures and, without a temperature axis, the single temperature. */
void fig_append_sweep_note(fig_text *text, const dl_results *results, const fig_points *points);

/* ---- colours and series ---- */

/* Returns the colour of temperature i of n. With at most FIG_LEGEND_MAX
 * temperatures they are spread by rank over viridis [0, 0.85], which
 * keeps the lightest line readable on white. With more, the colour is
 * viridis at (t - t_min) / (t_max - t_min), matching the colour bar. */
plot_rgb fig_temperature_color(const fig_points *points, size_t i);

/* True when the legend of the line figures collapses into a colour bar. */
bool fig_uses_colorbar(const fig_points *points);

/* Returns a malloc'ed array of steps values 0, 1, ..., steps - 1, or NULL
 * with err set. */
double *fig_step_axis(int steps, dl_error *err);

/* Returns a pointer to the series [steps] of metric and stat at point. */
const double *fig_summary(const dl_results *results, dl_metric metric, dl_stat stat,
                          size_t point);

/* Adds a legend entry without data: a dashed line in the theme's marker
 * style, for a marker line drawn without its own label (so the label
 * cannot cover data), or a grey band sample for bands drawn in several
 * colours. Returns 0, or -1 with err set. */
int fig_add_marker_key(plot_panel *panel, const plot_theme *theme, const char *label,
                       dl_error *err);
int fig_add_band_key(plot_panel *panel, const plot_theme *theme, const char *label,
                     dl_error *err);

/* Stores figure and the caption in text into out, or frees both and
 * returns -1 with err set when the caption ran out of memory. */
int fig_finish(plot_figure *figure, fig_text *text, dl_figure *out, dl_error *err);

/* ---- LoRA figures (lora_common.c) ---- */

/* Smallest value drawn on the log axes of the LoRA figures, nats or a
 * share. A full-rank fit reaches an eval KL near 1e-16 and a rounding
 * error can make a KL a few 1e-17 below 0, so smaller values are drawn
 * at this floor and the caption says so. */
#define FIG_LORA_LOG_FLOOR 1e-16

/* Writes the indices of lora's ranks in ascending order of rank into
 * order[n_ranks], ties in file order. */
void fig_lora_rank_order(const dl_lora_results *lora, size_t *order);

/* Writes the indices of lora's alphas in ascending order into
 * order[n_alphas]. */
void fig_lora_alpha_order(const dl_lora_results *lora, size_t *order);

/* Appends a sentence that names the fixed value of each axis given by
 * index (rank, alpha, scaling, seed), and for each whether it is the
 * only value or which of how many. An index of -1 leaves that axis out,
 * for an axis the figure shows. */
void fig_lora_append_fixed(fig_text *text, const dl_lora_results *lora, long rank, long alpha,
                           long scaling, long seed);

/* Appends the note that alpha = 0 was passed over, when it was. */
void fig_lora_append_alpha_note(fig_text *text, const dl_lora_results *lora, size_t alpha);

/* Writes alpha for a label with dl_sweep_values_format. Returns buffer. */
const char *fig_lora_alpha_text(double alpha, char *buffer, size_t size);

/* True when the rank axis is logarithmic: the largest rank is at least
 * 8 times the smallest, so a linear axis would crowd the small ranks. */
bool fig_lora_rank_log(const dl_lora_results *lora);

/* Returns the x of the rank at ascending position i (order from
 * fig_lora_rank_order): the rank itself, on either axis. */
double fig_lora_rank_x(const dl_lora_results *lora, const size_t *order, size_t i);

/* Sets the x axis of a panel against rank: log with a tick at each swept
 * rank (fig_lora_rank_log), else linear with integer ticks. The limits
 * keep the end markers inside. */
int fig_lora_rank_axis(plot_panel *panel, const dl_lora_results *lora, const size_t *order,
                       dl_error *err);

/* Values below this many times FIG_LORA_LOG_FLOOR sit so close to a log
 * axis that starts at the floor's decade that their markers are cut. */
#define FIG_LORA_FLOOR_NEAR 10.0

/* Extends a log axis from a decade below to a decade above
 * FIG_LORA_LOG_FLOOR when the smallest value drawn on it is below
 * FIG_LORA_FLOOR_NEAR times the floor, so markers at the floor are drawn
 * whole, also when every value is there. NaN changes nothing. */
int fig_lora_log_room(plot_panel *panel, plot_axis_id axis, double smallest, dl_error *err);

/* True when the adapters start from the principal components of W
 * (/lora attribute init = svd): their update s B A - s B_init A_init can
 * reach rank 2r. */
bool fig_lora_init_svd(const dl_lora_results *lora);

/* Returns value, or FIG_LORA_LOG_FLOOR when value is below it; counts
 * the values raised in *raised. NaN stays NaN. */
double fig_lora_floor(double value, size_t *raised);

/* Returns the colour of the rank at ascending position i of n: viridis
 * spread over [0, 0.85] as the temperature lines are. */
plot_rgb fig_lora_rank_color(size_t i, size_t n);

/* Most rank lines that get a legend entry: a legend beside the panel fits
 * about a dozen entries on the slide canvas. */
#define FIG_LORA_LEGEND_RANKS_MAX 12

/* True when line i of n rank lines (in ascending rank order) gets a legend
 * entry: all when n <= FIG_LORA_LEGEND_RANKS_MAX, else evenly spaced ones,
 * the first and the last included. The colours still run from dark
 * (smallest rank) to light (largest), so unlabelled lines read between
 * their labelled neighbours. */
bool fig_lora_rank_labelled(size_t i, size_t n);

#endif
