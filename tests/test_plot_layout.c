/* test_plot_layout.c - heat-map binning, text measurement, margins that
 * follow the labels, and output that does not depend on process history.
 *
 * Binning averages are compared exactly: the inputs are small integers and
 * their means are exact in binary64. Text extents need the DejaVu Sans
 * font (fonts-dejavu-core); the tests check relations between extents,
 * not font-specific numbers.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "output.h"
#include "plot.h"

/* ---- binning ---- */

static void bin_10_columns_into_4(void **state)
{
    (void)state;
    /* centres: columns 0-1 -> 0, 2-4 -> 1, 5-6 -> 2, 7-9 -> 3 */
    double in[2 * 10];
    for (int i = 0; i < 20; i++)
        in[i] = i;
    double out[2 * 4];
    assert_int_equal(plot_bin_columns(out, in, 2, 10, 4, NULL), 0);
    static const double expected[8] = {0.5, 3.0, 5.5, 8.0, 10.5, 13.0, 15.5, 18.0};
    for (int i = 0; i < 8; i++)
        assert_true(out[i] == expected[i]);
}

static void bin_columns_skips_nan(void **state)
{
    (void)state;
    const double in[6] = {1.0, NAN, 3.0, NAN, NAN, 8.0};
    double out[3];
    assert_int_equal(plot_bin_columns(out, in, 1, 6, 3, NULL), 0);
    assert_true(out[0] == 1.0);  /* mean of 1 and NaN */
    assert_true(out[1] == 3.0);  /* mean of 3 and NaN */
    assert_true(out[2] == 8.0);  /* mean of NaN and 8 */

    const double all_nan[4] = {NAN, NAN, 2.0, 4.0};
    double two[2];
    assert_int_equal(plot_bin_columns(two, all_nan, 1, 4, 2, NULL), 0);
    assert_true(isnan(two[0]));
    assert_true(two[1] == 3.0);
}

static void bin_columns_same_width_copies(void **state)
{
    (void)state;
    const double in[5] = {4.0, -1.0, 2.5, 0.0, 9.0};
    double out[5];
    assert_int_equal(plot_bin_columns(out, in, 1, 5, 5, NULL), 0);
    for (int i = 0; i < 5; i++)
        assert_true(out[i] == in[i]);
}

static void bin_columns_rejects_bad_width(void **state)
{
    (void)state;
    const double in[4] = {0};
    double out[8];
    dl_error err = {""};
    assert_int_equal(plot_bin_columns(out, in, 1, 4, 0, &err), -1);
    assert_non_null(strstr(err.message, "4 columns"));
    assert_int_equal(plot_bin_columns(out, in, 1, 4, 5, &err), -1);
}

static void bin_rows_matches_columns_transposed(void **state)
{
    (void)state;
    /* 10 rows x 2 columns, the transpose of the first test's input */
    double in[10 * 2];
    for (int r = 0; r < 10; r++) {
        in[r * 2] = r;
        in[r * 2 + 1] = 10 + r;
    }
    double out[4 * 2];
    assert_int_equal(plot_bin_rows(out, in, 10, 2, 4, NULL), 0);
    static const double expected[8] = {0.5, 10.5, 3.0, 13.0, 5.5, 15.5, 8.0, 18.0};
    for (int i = 0; i < 8; i++)
        assert_true(out[i] == expected[i]);
}

/* ---- text ---- */

static void text_width_grows_with_text(void **state)
{
    (void)state;
    dl_error err = {""};
    double one, three, height;
    assert_int_equal(plot_text_measure(plot_theme_slide(), "W", 11.0, &one, &height, &err), 0);
    assert_int_equal(plot_text_measure(plot_theme_slide(), "WWW", 11.0, &three, &height, &err), 0);
    assert_true(one > 0.0);
    assert_true(three > 2.5 * one);
    assert_true(height > 11.0); /* line height exceeds the em size */
}

static void text_scales_linearly_with_size(void **state)
{
    (void)state;
    /* Unhinted metrics: doubling the size doubles the extents, up to
     * Pango's rounding of glyph advances to 1/1024 pt. With DejaVu Sans
     * 2.37 the difference is under 0.01 %, and the bound is 0.2 %. */
    dl_error err = {""};
    double w11, h11, w22, h22;
    const char *markup = "attention on W<sub>q</sub> \xc2\xb7 \xce\xb1";
    assert_int_equal(plot_text_measure(plot_theme_slide(), markup, 11.0, &w11, &h11, &err), 0);
    assert_int_equal(plot_text_measure(plot_theme_slide(), markup, 22.0, &w22, &h22, &err), 0);
    assert_float_equal(w22, 2.0 * w11, 0.002 * w22);
    assert_float_equal(h22, 2.0 * h11, 0.002 * h22);
}

static void text_rejects_invalid_markup(void **state)
{
    (void)state;
    dl_error err = {""};
    double w, h;
    assert_int_equal(plot_text_measure(plot_theme_slide(), "<b>unclosed", 11.0, &w, &h, &err), -1);
    assert_non_null(strstr(err.message, "markup"));
}

/* ---- margins ---- */

/* A one-panel figure with category labels on the y axis. */
static plot_figure *category_figure(const char *long_label, plot_panel **panel_out)
{
    dl_error err = {""};
    plot_figure *figure = plot_figure_new(400.0, 300.0, 1, 1, plot_theme_slide(), &err);
    assert_non_null(figure);
    plot_panel *panel = plot_figure_add_panel(figure, 0, 0, 1, 1, &err);
    assert_non_null(panel);
    const char *labels[3] = {"a", "b", long_label};
    assert_int_equal(plot_panel_set_categories(panel, PLOT_Y, labels, 3, &err), 0);
    assert_int_equal(plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_CATEGORY, "Kind", NULL, &err), 0);
    assert_int_equal(plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_LINEAR, "Value", "s", &err), 0);
    const double x[3] = {1.0, 2.0, 3.0}, y[3] = {0.0, 1.0, 2.0};
    assert_int_equal(plot_panel_add_points(panel, x, y, 3, plot_style_category(0), NULL, &err), 0);
    assert_int_equal(plot_figure_layout(figure, &err), 0);
    *panel_out = panel;
    return figure;
}

static void long_tick_label_widens_left_margin(void **state)
{
    (void)state;
    const char *long_label = "a much longer category label";
    plot_panel *short_panel, *long_panel;
    plot_figure *short_figure = category_figure("c", &short_panel);
    plot_figure *long_figure = category_figure(long_label, &long_panel);

    const plot_theme *theme = plot_theme_slide();
    double label_width, label_height;
    dl_error err = {""};
    assert_int_equal(plot_text_measure(theme, long_label, theme->tick_label_size, &label_width,
                                       &label_height, &err), 0);
    double title_width, title_height;
    assert_int_equal(plot_text_measure(theme, "Kind", theme->axis_title_size, &title_width,
                                       &title_height, &err), 0);

    plot_rect narrow = plot_panel_area(short_panel), wide = plot_panel_area(long_panel);
    assert_true(wide.x > narrow.x + label_width / 2.0);

    /* label and rotated title fit left of the area without leaving the page */
    double label_left = wide.x - theme->tick_length - theme->label_pad - label_width;
    double title_left = label_left - theme->label_pad - title_height;
    assert_true(title_left >= 0.0);
    assert_true(wide.x + wide.width <= 400.0);

    plot_figure_free(short_figure);
    plot_figure_free(long_figure);
}

static void stacked_panels_share_left_edge(void **state)
{
    (void)state;
    dl_error err = {""};
    plot_figure *figure = plot_figure_new(400.0, 400.0, 2, 1, plot_theme_slide(), &err);
    plot_panel *top = plot_figure_add_panel(figure, 0, 0, 1, 1, &err);
    plot_panel *bottom = plot_figure_add_panel(figure, 1, 0, 1, 1, &err);
    assert_non_null(top);
    assert_non_null(bottom);
    const double x[2] = {0.0, 1.0}, small[2] = {0.0, 1.0}, large[2] = {-250000.5, 999999.0};
    assert_int_equal(plot_panel_add_line(top, x, small, 2, plot_style_category(0), NULL, &err), 0);
    assert_int_equal(plot_panel_add_line(bottom, x, large, 2, plot_style_category(1), NULL, &err), 0);
    assert_int_equal(plot_figure_layout(figure, &err), 0);

    assert_float_equal(plot_panel_area(top).x, plot_panel_area(bottom).x, 1e-9);
    assert_float_equal(plot_panel_area(top).width, plot_panel_area(bottom).width, 1e-9);
    plot_figure_free(figure);
}

static void x_tick_labels_never_overlap(void **state)
{
    (void)state;
    dl_error err = {""};
    const plot_theme *theme = plot_theme_slide();
    plot_figure *figure = plot_figure_new(160.0, 200.0, 1, 1, theme, &err);
    plot_panel *panel = plot_figure_add_panel(figure, 0, 0, 1, 1, &err);
    const double x[2] = {123000.0, 987000.5}, y[2] = {0.0, 1.0};
    assert_int_equal(plot_panel_add_line(panel, x, y, 2, plot_style_category(0), NULL, &err), 0);
    assert_int_equal(plot_figure_layout(figure, &err), 0);

    const plot_ticks *ticks = plot_panel_ticks(panel, PLOT_X);
    plot_rect area = plot_panel_area(panel);
    double previous_right = -INFINITY;
    for (size_t i = 0; i < ticks->count; i++) {
        double width, height;
        assert_int_equal(plot_text_measure(theme, ticks->label[i], theme->tick_label_size, &width,
                                           &height, &err), 0);
        double centre = area.x + (ticks->value[i] - ticks->lo) / (ticks->hi - ticks->lo) * area.width;
        assert_true(centre - width / 2.0 > previous_right);
        previous_right = centre + width / 2.0;
    }
    plot_figure_free(figure);
}

/* Lays out a one-panel figure whose x axis, without a title, spans
 * [lo, hi]; integer marks it as counting whole units. */
static plot_figure *untitled_x_figure(double lo, double hi, bool integer, plot_panel **panel_out)
{
    dl_error err = {""};
    plot_figure *figure = plot_figure_new(400.0, 200.0, 1, 1, plot_theme_slide(), &err);
    plot_panel *panel = plot_figure_add_panel(figure, 0, 0, 1, 1, &err);
    assert_non_null(panel);
    const double x[2] = {lo, hi}, y[2] = {0.0, 1.0};
    assert_int_equal(plot_panel_add_line(panel, x, y, 2, plot_style_category(0), NULL, &err), 0);
    assert_int_equal(plot_panel_set_limits(panel, PLOT_X, lo, hi, &err), 0);
    if (integer)
        plot_panel_set_integer_ticks(panel, PLOT_X);
    if (plot_figure_layout(figure, &err) != 0)
        fail_msg("layout of [%g, %g] failed: %s", lo, hi, err.message);
    *panel_out = panel;
    return figure;
}

static void integer_axis_labels_positions_in_full(void **state)
{
    (void)state;
    plot_panel *panel;
    plot_figure *figure = untitled_x_figure(99997.5, 100001.5, true, &panel);
    const plot_ticks *ticks = plot_panel_ticks(panel, PLOT_X);
    assert_int_equal(ticks->exponent, 0);
    assert_true(ticks->count >= 2);
    for (size_t i = 0; i < ticks->count; i++) {
        char expected[32];
        snprintf(expected, sizeof expected, "%.0f", ticks->value[i]);
        assert_string_equal(ticks->label[i], expected);
        assert_true(ticks->value[i] == floor(ticks->value[i]));
    }
    plot_figure_free(figure);

    /* a single step: the one tick 0, no fractions round it */
    figure = untitled_x_figure(-0.5, 0.5, true, &panel);
    ticks = plot_panel_ticks(panel, PLOT_X);
    assert_int_equal(ticks->count, 1);
    assert_string_equal(ticks->label[0], "0");
    plot_figure_free(figure);
}

static void untitled_scaled_axis_keeps_factor(void **state)
{
    (void)state;
    plot_panel *plain_panel, *scaled_panel;
    plot_figure *plain = untitled_x_figure(0.0, 12345.0, false, &plain_panel);
    plot_figure *scaled = untitled_x_figure(0.0, 123456.0, false, &scaled_panel);
    assert_int_equal(plot_panel_ticks(plain_panel, PLOT_X)->exponent, 0);
    assert_int_equal(plot_panel_ticks(scaled_panel, PLOT_X)->exponent, 5);

    /* the x10^5 factor takes a title line below the tick labels */
    const plot_theme *theme = plot_theme_slide();
    double width, height;
    dl_error err = {""};
    assert_int_equal(plot_text_measure(theme, "\xc3\x97" "10<sup>5</sup>", theme->axis_title_size,
                                       &width, &height, &err), 0);
    double lost = plot_panel_area(plain_panel).height - plot_panel_area(scaled_panel).height;
    assert_float_equal(lost, theme->label_pad + height, 1e-6);
    plot_figure_free(plain);
    plot_figure_free(scaled);
}

static void layout_fails_without_room(void **state)
{
    (void)state;
    dl_error err = {""};
    plot_figure *figure = plot_figure_new(60.0, 40.0, 1, 1, plot_theme_slide(), &err);
    plot_panel *panel = plot_figure_add_panel(figure, 0, 0, 1, 1, &err);
    assert_int_equal(plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_LINEAR, "A long axis title",
                                         NULL, &err), 0);
    assert_int_equal(plot_figure_layout(figure, &err), -1);
    assert_non_null(strstr(err.message, "enlarge the figure"));
    plot_figure_free(figure);
}

static void log_axis_rejects_zero_data(void **state)
{
    (void)state;
    dl_error err = {""};
    plot_figure *figure = plot_figure_new(300.0, 200.0, 1, 1, plot_theme_slide(), &err);
    plot_panel *panel = plot_figure_add_panel(figure, 0, 0, 1, 1, &err);
    assert_int_equal(plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_LOG, "Loss", NULL, &err), 0);
    const double x[3] = {0.0, 1.0, 2.0}, y[3] = {1.0, 0.0, 0.5};
    assert_int_equal(plot_panel_add_line(panel, x, y, 3, plot_style_category(0), NULL, &err), 0);
    assert_int_equal(plot_figure_layout(figure, &err), -1);
    assert_non_null(strstr(err.message, "log axis"));
    plot_figure_free(figure);
}

static void fixed_ticks_thin_when_crowded(void **state)
{
    (void)state;
    dl_error err = {""};
    plot_figure *figure = plot_figure_new(240.0, 120.0, 1, 1, plot_theme_slide(), &err);
    plot_panel *panel = plot_figure_add_panel(figure, 0, 0, 1, 1, &err);
    const double x[2] = {1.0, 1000.0}, y[2] = {1.0, 2.0};
    assert_int_equal(plot_panel_add_line(panel, x, y, 2, plot_style_category(0), NULL, &err), 0);
    double values[20];
    char texts[20][8];
    const char *labels[20];
    for (int i = 0; i < 20; i++) {
        values[i] = 1.0 + 50.0 * i;
        snprintf(texts[i], sizeof texts[i], "%d", 1 + 50 * i);
        labels[i] = texts[i];
    }
    assert_int_equal(plot_panel_set_tick_values(panel, PLOT_X, values, labels, 20, &err), 0);
    if (plot_figure_layout(figure, &err) != 0)
        fail_msg("layout failed: %s", err.message);
    const plot_ticks *ticks = plot_panel_ticks(panel, PLOT_X);
    /* 20 labels cannot fit in 240 pt: every k-th, the first kept */
    assert_true(ticks->count >= 1 && ticks->count < 20);
    assert_true(ticks->value[0] == 1.0);
    assert_string_equal(ticks->label[0], "1");
    assert_int_equal(ticks->minor_count, 0);

    /* not increasing */
    const double bad[2] = {2.0, 2.0};
    assert_int_equal(plot_panel_set_tick_values(panel, PLOT_X, bad, labels, 2, &err), -1);
    assert_non_null(strstr(err.message, "increasing"));
    plot_figure_free(figure);
}

static void include_extends_range(void **state)
{
    (void)state;
    dl_error err = {""};
    plot_figure *figure = plot_figure_new(300.0, 200.0, 1, 1, plot_theme_slide(), &err);
    plot_panel *panel = plot_figure_add_panel(figure, 0, 0, 1, 1, &err);
    const double x[2] = {0.0, 1.0}, y[2] = {1e-3, 1.0};
    assert_int_equal(plot_panel_add_line(panel, x, y, 2, plot_style_category(0), NULL, &err), 0);
    assert_int_equal(plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_LOG, NULL, NULL, &err), 0);
    assert_int_equal(plot_panel_include(panel, PLOT_Y, 1e-6, &err), 0);
    assert_int_equal(plot_figure_layout(figure, &err), 0);
    assert_true(plot_panel_ticks(panel, PLOT_Y)->lo <= 1.000001e-6);
    assert_int_equal(plot_panel_include(panel, PLOT_Y, NAN, &err), -1);
    plot_figure_free(figure);
}

static void equal_areas_ignore_colorbar(void **state)
{
    (void)state;
    dl_error err = {""};
    plot_figure *figure = plot_figure_new(500.0, 200.0, 1, 2, plot_theme_slide(), &err);
    plot_figure_set_equal_areas(figure);
    const double cells[4] = {0.0, 1.0, 2.0, 3.0};
    for (int p = 0; p < 2; p++) {
        plot_panel *panel = plot_figure_add_panel(figure, 0, p, 1, 1, &err);
        assert_non_null(panel);
        assert_int_equal(plot_panel_add_heatmap(panel, cells, 2, 2, 0.0, 1.0, 0.0, 1.0,
                                                PLOT_COLORMAP_VIRIDIS, 0.0, 3.0, &err), 0);
        if (p == 1)
            assert_int_equal(plot_panel_add_colorbar(panel, PLOT_COLORMAP_VIRIDIS, 0.0, 3.0,
                                                     "a long colour bar title", &err), 0);
    }
    assert_int_equal(plot_figure_layout(figure, &err), 0);
    plot_rect first = plot_panel_area(plot_figure_panel(figure, 0));
    plot_rect second = plot_panel_area(plot_figure_panel(figure, 1));
    assert_true(fabs(first.width - second.width) < 1e-9);
    assert_true(second.x > first.x + first.width);
    plot_figure_free(figure);
}

static void panels_reject_overlapping_cells(void **state)
{
    (void)state;
    dl_error err = {""};
    plot_figure *figure = plot_figure_new(300.0, 200.0, 2, 2, plot_theme_slide(), &err);
    assert_non_null(plot_figure_add_panel(figure, 0, 0, 1, 2, &err));
    assert_null(plot_figure_add_panel(figure, 0, 1, 2, 1, &err));
    assert_non_null(strstr(err.message, "overlaps"));
    assert_null(plot_figure_add_panel(figure, 1, 1, 1, 2, &err));
    plot_figure_free(figure);
}

/* ---- output ---- */

static char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long length = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)length + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)length, f), (size_t)length);
    fclose(f);
    *size = (size_t)length;
    return data;
}

static plot_figure *small_heatmap_figure(void)
{
    dl_error err = {""};
    plot_figure *figure = plot_figure_new(300.0, 200.0, 1, 1, plot_theme_paper(), &err);
    plot_panel *panel = plot_figure_add_panel(figure, 0, 0, 1, 1, &err);
    const double values[6] = {0.0, 0.5, 1.0, NAN, 0.25, 0.75};
    assert_int_equal(plot_panel_add_heatmap(panel, values, 2, 3, 0.0, 3.0, 0.0, 2.0,
                                            PLOT_COLORMAP_VIRIDIS, 0.0, 1.0, &err), 0);
    assert_int_equal(plot_panel_add_colorbar(panel, PLOT_COLORMAP_VIRIDIS, 0.0, 1.0, "Value",
                                             &err), 0);
    return figure;
}

static void svg_ignores_earlier_surfaces(void **state)
{
    (void)state;
    char folder[] = "/tmp/test_plot_layout_XXXXXX";
    assert_non_null(mkdtemp(folder));
    char first[256], second[256], png[256];
    snprintf(first, sizeof first, "%s/first.svg", folder);
    snprintf(second, sizeof second, "%s/second.svg", folder);
    snprintf(png, sizeof png, "%s/between.png", folder);

    dl_error err = {""};
    plot_figure *figure = small_heatmap_figure();
    assert_int_equal(plot_figure_write(figure, first, PLOT_FORMAT_SVG, 72.0, &err), 0);

    /* other surfaces advance cairo's process-wide surface counter */
    for (int i = 0; i < 5; i++)
        cairo_surface_destroy(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 2, 2));
    assert_int_equal(plot_figure_write(figure, png, PLOT_FORMAT_PNG, 72.0, &err), 0);
    assert_int_equal(plot_figure_write(figure, second, PLOT_FORMAT_SVG, 72.0, &err), 0);

    size_t size_a, size_b;
    char *a = read_file(first, &size_a);
    char *b = read_file(second, &size_b);
    assert_int_equal(size_a, size_b);
    assert_memory_equal(a, b, size_a);

    free(a);
    free(b);
    plot_figure_free(figure);
    unlink(first);
    unlink(second);
    unlink(png);
    rmdir(folder);
}

static void failed_write_keeps_old_file(void **state)
{
    (void)state;
    char folder[] = "/tmp/test_plot_layout_XXXXXX";
    assert_non_null(mkdtemp(folder));
    char path[256];
    snprintf(path, sizeof path, "%s/figure.pdf", folder);

    dl_error err = {""};
    plot_figure *figure = small_heatmap_figure();
    assert_int_equal(plot_figure_write(figure, path, PLOT_FORMAT_PDF, 72.0, &err), 0);
    size_t before_size;
    char *before = read_file(path, &before_size);

    /* a zero on a log axis makes the next layout fail */
    dl_error add_err = {""};
    plot_figure *broken = plot_figure_new(300.0, 200.0, 1, 1, plot_theme_paper(), &add_err);
    plot_panel *panel = plot_figure_add_panel(broken, 0, 0, 1, 1, &add_err);
    plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_LOG, "x", NULL, &add_err);
    const double x[2] = {0.0, 1.0}, y[2] = {1.0, 2.0};
    plot_panel_add_line(panel, x, y, 2, plot_style_category(0), NULL, &add_err);
    assert_int_equal(plot_figure_write(broken, path, PLOT_FORMAT_PDF, 72.0, &err), -1);
    assert_non_null(strstr(err.message, path));

    size_t after_size;
    char *after = read_file(path, &after_size);
    assert_int_equal(after_size, before_size);
    assert_memory_equal(after, before, before_size);

    /* no temporary file is left beside it */
    DIR *dir = opendir(folder);
    assert_non_null(dir);
    int entries = 0;
    for (struct dirent *entry = readdir(dir); entry != NULL; entry = readdir(dir))
        if (entry->d_name[0] != '.')
            entries++;
    closedir(dir);
    assert_int_equal(entries, 1);

    free(before);
    free(after);
    plot_figure_free(figure);
    plot_figure_free(broken);
    unlink(path);
    rmdir(folder);
}

static void png_size_follows_ppi(void **state)
{
    (void)state;
    int w, h;
    dl_error err = {""};
    assert_int_equal(plot_png_size(720.0, 540.0, 150.0, &w, &h, &err), 0);
    assert_int_equal(w, 1500);
    assert_int_equal(h, 1125);
    assert_int_equal(plot_png_size(720.0, 540.0, 5.0, &w, &h, &err), -1);
    assert_non_null(strstr(err.message, "ppi"));

    /* the range of the [figures] key png_ppi, the same in every message */
    assert_int_equal(plot_png_size(720.0, 540.0, 36.0, &w, &h, &err), 0);
    assert_int_equal(plot_png_size(720.0, 540.0, 600.0, &w, &h, &err), 0);
    static const double outside[] = {35.0, 30.0, 601.0, 2400.0};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        assert_int_equal(plot_png_size(720.0, 540.0, outside[i], &w, &h, &err), -1);
        assert_non_null(strstr(err.message, "must be from 36 to 600 pixels per inch"));
    }
}

/* Thinning keeps the first and the last item: 64 ranks with room for 4
 * labels once showed 1, 17, 33 and 49, leaving the largest unlabelled. */
static void keep_evenly_includes_both_ends(void **state)
{
    (void)state;
    size_t kept[8], n = 0;
    for (size_t i = 0; i < 64; i++)
        if (plot_keep_evenly(i, 64, 4))
            kept[n++] = i;
    assert_int_equal(n, 4);
    assert_int_equal(kept[0], 0);
    assert_int_equal(kept[1], 21);
    assert_int_equal(kept[2], 42);
    assert_int_equal(kept[3], 63);
    for (size_t i = 0; i < 5; i++)
        assert_true(plot_keep_evenly(i, 5, 5));
    assert_true(plot_keep_evenly(0, 9, 1));
    assert_false(plot_keep_evenly(8, 9, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keep_evenly_includes_both_ends),
        cmocka_unit_test(bin_10_columns_into_4),
        cmocka_unit_test(bin_columns_skips_nan),
        cmocka_unit_test(bin_columns_same_width_copies),
        cmocka_unit_test(bin_columns_rejects_bad_width),
        cmocka_unit_test(bin_rows_matches_columns_transposed),
        cmocka_unit_test(text_width_grows_with_text),
        cmocka_unit_test(text_scales_linearly_with_size),
        cmocka_unit_test(text_rejects_invalid_markup),
        cmocka_unit_test(long_tick_label_widens_left_margin),
        cmocka_unit_test(stacked_panels_share_left_edge),
        cmocka_unit_test(x_tick_labels_never_overlap),
        cmocka_unit_test(integer_axis_labels_positions_in_full),
        cmocka_unit_test(untitled_scaled_axis_keeps_factor),
        cmocka_unit_test(layout_fails_without_room),
        cmocka_unit_test(log_axis_rejects_zero_data),
        cmocka_unit_test(panels_reject_overlapping_cells),
        cmocka_unit_test(svg_ignores_earlier_surfaces),
        cmocka_unit_test(failed_write_keeps_old_file),
        cmocka_unit_test(png_size_follows_ppi),
        cmocka_unit_test(fixed_ticks_thin_when_crowded),
        cmocka_unit_test(include_extends_range),
        cmocka_unit_test(equal_areas_ignore_colorbar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
