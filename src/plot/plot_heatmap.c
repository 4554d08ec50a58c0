/* plot_heatmap.c - heat maps: binning a matrix to the device resolution
 * and drawing it as one image.
 *
 * Binning: with n input columns and m <= n output columns, input column c
 * goes to output column floor((2c + 1) m / (2n)), the output column that
 * contains the centre of column c when both span the same width. That map
 * is non-decreasing in c and rises by at most 1 per column (m / n <= 1),
 * so every output column receives a contiguous, non-empty run of inputs,
 * and one pass suffices. The output is the mean of the run's non-NaN
 * values, or NaN when the run has none. Rows are binned the same way.
 *
 * Drawing: the binned matrix becomes an RGB image with one pixel per cell
 * (NaN cells transparent), scaled onto the heat map's extent with nearest-
 * neighbour filtering so cells keep sharp edges. In SVG the
 * image-rendering attributes that output.c adds keep them sharp. The
 * device resolution decides the binning: the PNG resolution, or the
 * theme's vector_ppi for PDF and SVG.
 */
#include "plot_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* Bins n values read at in[i * in_stride] into m values written at
 * out[j * out_stride]. Requires 1 <= m <= n. */
static void bin_strided(double *out, size_t out_stride, const double *in, size_t in_stride,
                        size_t n, size_t m)
{
    size_t current = 0;
    double sum = 0.0;
    size_t count = 0;
    for (size_t c = 0; c < n; c++) {
        size_t target = ((2 * c + 1) * m) / (2 * n);
        if (target != current) {
            out[current * out_stride] = count > 0 ? sum / (double)count : NAN;
            current = target;
            sum = 0.0;
            count = 0;
        }
        double value = in[c * in_stride];
        if (!isnan(value)) {
            sum += value;
            count++;
        }
    }
    out[current * out_stride] = count > 0 ? sum / (double)count : NAN;
}

int plot_bin_columns(double *out, const double *in, size_t rows, size_t cols, size_t out_cols,
                     dl_error *err)
{
    if (out_cols < 1 || out_cols > cols)
        return dl_error_set(err, "binning %zu columns into %zu is invalid: the output needs "
                            "1 to %zu columns", cols, out_cols, cols);
    for (size_t r = 0; r < rows; r++)
        bin_strided(out + r * out_cols, 1, in + r * cols, 1, cols, out_cols);
    return 0;
}

int plot_bin_rows(double *out, const double *in, size_t rows, size_t cols, size_t out_rows,
                  dl_error *err)
{
    if (out_rows < 1 || out_rows > rows)
        return dl_error_set(err, "binning %zu rows into %zu is invalid: the output needs "
                            "1 to %zu rows", rows, out_rows, rows);
    for (size_t c = 0; c < cols; c++)
        bin_strided(out + c, cols, in + c, cols, rows, out_rows);
    return 0;
}

/* Returns how many cells fit across `length` points at ppi, at least 1. */
static size_t device_cells(double length, double ppi, size_t cells)
{
    double pixels = ceil(fabs(length) * ppi / 72.0);
    if (!(pixels >= 1.0))
        pixels = 1.0;
    return pixels < (double)cells ? (size_t)pixels : cells;
}

static uint32_t pixel_of(double value, const plot_element *e)
{
    if (isnan(value))
        return 0; /* transparent */
    plot_rgb c = plot_colormap_lookup(e->map, (value - e->vmin) / (e->vmax - e->vmin));
    return 0xff000000u | (uint32_t)lround(c.r * 255.0) << 16 | (uint32_t)lround(c.g * 255.0) << 8 |
           (uint32_t)lround(c.b * 255.0);
}

int plot_heatmap_draw(const plot_panel *panel, const plot_element *e, cairo_t *cr,
                      double device_ppi, dl_error *err)
{
    char name[64];
    if (panel->axis[PLOT_X].scale == PLOT_SCALE_LOG || panel->axis[PLOT_Y].scale == PLOT_SCALE_LOG)
        return dl_error_set(err, "%s: heat maps need linear axes",
                            plot_panel_name(panel, name, sizeof name));

    /* the extent in points; y grows downward on the page */
    double px0 = plot_panel_x(panel, e->x0), px1 = plot_panel_x(panel, e->x1);
    double py0 = plot_panel_y(panel, e->y0), py1 = plot_panel_y(panel, e->y1);
    size_t out_cols = device_cells(px1 - px0, device_ppi, e->cols);
    size_t out_rows = device_cells(py1 - py0, device_ppi, e->rows);
    if (out_cols > INT32_MAX / 4 || out_rows > INT32_MAX / 4)
        return dl_error_set(err, "%s: heat map of %zu x %zu pixels is too large",
                            plot_panel_name(panel, name, sizeof name), out_rows, out_cols);

    /* bin columns, then rows */
    double *by_columns = malloc(e->rows * out_cols * sizeof *by_columns);
    double *binned = malloc(out_rows * out_cols * sizeof *binned);
    if (by_columns == NULL || binned == NULL) {
        free(by_columns);
        free(binned);
        return dl_error_set(err, "out of memory binning a heat map of %zu x %zu", e->rows,
                            e->cols);
    }
    plot_bin_columns(by_columns, e->values, e->rows, e->cols, out_cols, NULL);
    plot_bin_rows(binned, by_columns, e->rows, out_cols, out_rows, NULL);
    free(by_columns);

    /* image row 0 is the top; data row 0 sits at y0, which is the bottom
     * when y0 maps below y1 */
    cairo_surface_t *image =
        cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)out_cols, (int)out_rows);
    if (cairo_surface_status(image) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(image);
        free(binned);
        return dl_error_set(err, "%s: could not create a heat-map image of %zu x %zu pixels",
                            plot_panel_name(panel, name, sizeof name), out_cols, out_rows);
    }
    cairo_surface_flush(image);
    unsigned char *pixels = cairo_image_surface_get_data(image);
    size_t stride = (size_t)cairo_image_surface_get_stride(image);
    bool flip_rows = py0 > py1;
    bool flip_cols = px0 > px1;
    for (size_t j = 0; j < out_rows; j++) {
        size_t data_row = flip_rows ? out_rows - 1 - j : j;
        uint32_t *line = (uint32_t *)(void *)(pixels + j * stride);
        for (size_t i = 0; i < out_cols; i++) {
            size_t data_col = flip_cols ? out_cols - 1 - i : i;
            line[i] = pixel_of(binned[data_row * out_cols + data_col], e);
        }
    }
    cairo_surface_mark_dirty(image);
    free(binned);

    cairo_save(cr);
    cairo_translate(cr, fmin(px0, px1), fmin(py0, py1));
    cairo_scale(cr, fabs(px1 - px0) / (double)out_cols, fabs(py1 - py0) / (double)out_rows);
    cairo_set_source_surface(cr, image, 0.0, 0.0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle(cr, 0.0, 0.0, (double)out_cols, (double)out_rows);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(image);
    return 0;
}
