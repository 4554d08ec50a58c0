/* theme.c - the two theme presets; see theme.h. Every value is in points
 * unless its field's comment in theme.h gives another unit. */
#include "theme.h"

static const plot_theme slide = {
    .font_family = "DejaVu Sans",

    .figure_title_size = 16.0,
    .title_size = 14.0,
    .axis_title_size = 13.0,
    .tick_label_size = 11.0,
    .legend_size = 11.0,
    .caption_size = 11.0,
    .annotation_size = 11.0,
    .chip_label_size = 11.0,

    .line_width = 2.0,
    .axis_width = 1.0,
    .tick_width = 1.0,
    .tick_length = 4.0,
    .grid_width = 0.6,
    .annotation_width = 1.2,
    .marker_size = 6.0,
    .dash_length = 4.0,

    .outer_margin = 8.0,
    .panel_gap = 18.0,
    .label_pad = 4.0,
    .title_pad = 8.0,
    .legend_pad = 6.0,
    .legend_sample_length = 20.0,
    .colorbar_width = 10.0,
    .colorbar_gap = 10.0,
    .chip_pad = 4.0,
    .chip_radius = 3.0,
    .min_area = 24.0,

    .background = {1.0, 1.0, 1.0},
    .text = {0.10, 0.10, 0.10},
    .axis = {0.25, 0.25, 0.25},
    .grid = {0.88, 0.88, 0.88},
    .annotation = {0.30, 0.30, 0.30},
    .legend_background = {1.0, 1.0, 1.0},
    .legend_frame = {0.80, 0.80, 0.80},
    .band_alpha = 0.25,
    .legend_alpha = 0.85,

    .figure_width = 720.0,
    .figure_height = 405.0,

    .vector_ppi = 300.0,
};

static const plot_theme paper = {
    .font_family = "DejaVu Sans",

    .figure_title_size = 9.0,
    .title_size = 8.5,
    .axis_title_size = 8.0,
    .tick_label_size = 7.0,
    .legend_size = 7.0,
    .caption_size = 8.0,
    .annotation_size = 7.0,
    .chip_label_size = 7.0,

    .line_width = 1.2,
    .axis_width = 0.6,
    .tick_width = 0.6,
    .tick_length = 3.0,
    .grid_width = 0.4,
    .annotation_width = 0.8,
    .marker_size = 4.0,
    .dash_length = 3.0,

    .outer_margin = 4.0,
    .panel_gap = 10.0,
    .label_pad = 2.5,
    .title_pad = 5.0,
    .legend_pad = 4.0,
    .legend_sample_length = 14.0,
    .colorbar_width = 7.0,
    .colorbar_gap = 6.0,
    .chip_pad = 2.5,
    .chip_radius = 2.0,
    .min_area = 16.0,

    .background = {1.0, 1.0, 1.0},
    .text = {0.10, 0.10, 0.10},
    .axis = {0.25, 0.25, 0.25},
    .grid = {0.88, 0.88, 0.88},
    .annotation = {0.30, 0.30, 0.30},
    .legend_background = {1.0, 1.0, 1.0},
    .legend_frame = {0.80, 0.80, 0.80},
    .band_alpha = 0.25,
    .legend_alpha = 0.85,

    .figure_width = 504.0,
    .figure_height = 252.0,

    .vector_ppi = 300.0,
};

const plot_theme *plot_theme_slide(void)
{
    return &slide;
}

const plot_theme *plot_theme_paper(void)
{
    return &paper;
}
