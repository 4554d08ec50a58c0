/* test_plot_colormap.c - colour-map lookup against the published tables,
 * the Okabe-Ito palette and text contrast.
 *
 * Expected viridis, magma and cividis values are typed in from matplotlib
 * 3.6.3, lib/matplotlib/_cm_listed.py (_viridis_data, _magma_data,
 * _cividis_data), not read from colormap_tables.c, so a damaged table
 * fails here. Tolerance 1e-12: lookups at table entries copy the entry,
 * and the midpoint is one multiply-add per component.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "colormap.h"

#define TOLERANCE 1e-12

static void assert_rgb(plot_rgb c, double r, double g, double b)
{
    assert_float_equal(c.r, r, TOLERANCE);
    assert_float_equal(c.g, g, TOLERANCE);
    assert_float_equal(c.b, b, TOLERANCE);
}

static void viridis_at_0_is_first_entry(void **state)
{
    (void)state;
    assert_rgb(plot_colormap_lookup(PLOT_COLORMAP_VIRIDIS, 0.0), 0.267004, 0.004874, 0.329415);
}

static void viridis_at_1_is_last_entry(void **state)
{
    (void)state;
    assert_rgb(plot_colormap_lookup(PLOT_COLORMAP_VIRIDIS, 1.0), 0.993248, 0.906157, 0.143936);
}

static void viridis_at_half_interpolates(void **state)
{
    (void)state;
    /* t = 0.5 is u = 127.5: halfway between entries 127 and 128,
     * (0.128729, 0.563265, 0.551229) and (0.127568, 0.566949, 0.550556) */
    assert_rgb(plot_colormap_lookup(PLOT_COLORMAP_VIRIDIS, 0.5), 0.5 * (0.128729 + 0.127568),
               0.5 * (0.563265 + 0.566949), 0.5 * (0.551229 + 0.550556));
}

static void viridis_entry_times_hit_entries(void **state)
{
    (void)state;
    /* entry 64 of _viridis_data */
    assert_rgb(plot_colormap_lookup(PLOT_COLORMAP_VIRIDIS, 64.0 / 255.0), 0.229739, 0.322361,
               0.545706);
}

static void lookup_clamps_outside_unit_range(void **state)
{
    (void)state;
    assert_rgb(plot_colormap_lookup(PLOT_COLORMAP_VIRIDIS, -3.0), 0.267004, 0.004874, 0.329415);
    assert_rgb(plot_colormap_lookup(PLOT_COLORMAP_VIRIDIS, 7.0), 0.993248, 0.906157, 0.143936);
}

static void lookup_of_nan_is_grey(void **state)
{
    (void)state;
    assert_rgb(plot_colormap_lookup(PLOT_COLORMAP_VIRIDIS, NAN), 0.5, 0.5, 0.5);
}

static void magma_and_cividis_ends_match(void **state)
{
    (void)state;
    assert_rgb(plot_colormap_lookup(PLOT_COLORMAP_MAGMA, 0.0), 0.001462, 0.000466, 0.013866);
    assert_rgb(plot_colormap_lookup(PLOT_COLORMAP_MAGMA, 1.0), 0.987053, 0.991438, 0.749504);
    assert_rgb(plot_colormap_lookup(PLOT_COLORMAP_CIVIDIS, 0.0), 0.000000, 0.135112, 0.304751);
    assert_rgb(plot_colormap_lookup(PLOT_COLORMAP_CIVIDIS, 1.0), 0.995737, 0.909344, 0.217772);
}

static void viridis_luminance_rises(void **state)
{
    (void)state;
    /* a perceptually uniform sequential map gets lighter at every entry */
    double previous = -1.0;
    for (int i = 0; i < PLOT_COLORMAP_ENTRIES; i++) {
        plot_rgb c = plot_colormap_lookup(PLOT_COLORMAP_VIRIDIS, i / 255.0);
        double luminance = plot_relative_luminance(c);
        assert_true(luminance > previous);
        previous = luminance;
    }
}

static void palette_is_okabe_ito(void **state)
{
    (void)state;
    /* the eight published colours, 8-bit sRGB, in any order */
    static const int published[PLOT_PALETTE_SIZE][3] = {
        {0, 0, 0},     {230, 159, 0},  {86, 180, 233}, {0, 158, 115},
        {240, 228, 66}, {0, 114, 178}, {213, 94, 0},   {204, 121, 167},
    };
    int found[PLOT_PALETTE_SIZE] = {0};
    for (size_t i = 0; i < PLOT_PALETTE_SIZE; i++) {
        plot_rgb c = plot_palette_color(i);
        for (int j = 0; j < PLOT_PALETTE_SIZE; j++)
            if (lround(c.r * 255) == published[j][0] && lround(c.g * 255) == published[j][1] &&
                lround(c.b * 255) == published[j][2])
                found[j]++;
    }
    for (int j = 0; j < PLOT_PALETTE_SIZE; j++)
        assert_int_equal(found[j], 1);
}

static void palette_starts_blue_and_cycles(void **state)
{
    (void)state;
    assert_rgb(plot_palette_color(0), 0.0, 114.0 / 255.0, 178.0 / 255.0);
    plot_rgb again = plot_palette_color(PLOT_PALETTE_SIZE + 3);
    plot_rgb fourth = plot_palette_color(3);
    assert_rgb(again, fourth.r, fourth.g, fourth.b);
}

static void contrast_picks_readable_text(void **state)
{
    (void)state;
    plot_rgb blue = plot_palette_color(0);
    plot_rgb yellow = plot_palette_color(6);
    plot_rgb black = plot_palette_color(7);
    assert_rgb(plot_contrast_text_color(blue), 1.0, 1.0, 1.0);
    assert_rgb(plot_contrast_text_color(yellow), 0.0, 0.0, 0.0);
    assert_rgb(plot_contrast_text_color(black), 1.0, 1.0, 1.0);
    assert_rgb(plot_contrast_text_color((plot_rgb){1.0, 1.0, 1.0}), 0.0, 0.0, 0.0);
}

static void luminance_of_white_and_black(void **state)
{
    (void)state;
    assert_float_equal(plot_relative_luminance((plot_rgb){1.0, 1.0, 1.0}), 1.0, 1e-12);
    assert_float_equal(plot_relative_luminance((plot_rgb){0.0, 0.0, 0.0}), 0.0, 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(viridis_at_0_is_first_entry),
        cmocka_unit_test(viridis_at_1_is_last_entry),
        cmocka_unit_test(viridis_at_half_interpolates),
        cmocka_unit_test(viridis_entry_times_hit_entries),
        cmocka_unit_test(lookup_clamps_outside_unit_range),
        cmocka_unit_test(lookup_of_nan_is_grey),
        cmocka_unit_test(magma_and_cividis_ends_match),
        cmocka_unit_test(viridis_luminance_rises),
        cmocka_unit_test(palette_is_okabe_ito),
        cmocka_unit_test(palette_starts_blue_and_cycles),
        cmocka_unit_test(contrast_picks_readable_text),
        cmocka_unit_test(luminance_of_white_and_black),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
