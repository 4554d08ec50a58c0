/* theme.h - the one place that fixes how every driftlab figure looks:
 * fonts, font sizes, line widths, colours, spacing and figure sizes.
 *
 * All lengths are in points (1/72 inch), the unit of PDF and SVG pages and
 * of the plotting layer's coordinates. Two presets exist: `slide` for
 * lecture slides (a 16:9 slide is 10 x 5.625 in), and `paper` for a
 * two-column journal page (7 in wide). Figure code takes a theme pointer
 * and never hard-codes a size or colour of its own.
 *
 * Fonts are looked up by family name through fontconfig. The renderer
 * checks that the family it gets is the one named here and fails
 * otherwise, because a substituted font changes every text extent.
 */
#ifndef DRIFTLAB_PLOT_THEME_H
#define DRIFTLAB_PLOT_THEME_H

#include "colormap.h"

typedef struct {
    const char *font_family;    /* fontconfig family, e.g. "DejaVu Sans" */

    /* font sizes, points */
    double figure_title_size;
    double title_size;          /* panel titles */
    double axis_title_size;
    double tick_label_size;
    double legend_size;
    double caption_size;        /* captions set under figures by the report */
    double annotation_size;     /* text annotations and marker labels */
    double chip_label_size;

    /* line widths and marks, points */
    double line_width;          /* data series */
    double axis_width;
    double tick_width;
    double tick_length;
    double grid_width;
    double annotation_width;    /* marker lines */
    double marker_size;         /* diameter of point markers */
    double dash_length;         /* dashes of dashed lines */

    /* spacing, points */
    double outer_margin;        /* blank border round the whole figure */
    double panel_gap;           /* between the boxes of neighbouring panels */
    double label_pad;           /* tick to tick label, label to axis title */
    double title_pad;           /* panel title to the data area */
    double legend_pad;          /* inside the legend frame, and frame to axes */
    double legend_sample_length;
    double colorbar_width;
    double colorbar_gap;        /* data area to colour bar */
    double chip_pad;            /* chip label to chip edge */
    double chip_radius;
    double min_area;            /* smallest data area side a layout accepts */

    /* colours */
    plot_rgb background;
    plot_rgb text;
    plot_rgb axis;
    plot_rgb grid;
    plot_rgb annotation;
    plot_rgb legend_background;
    plot_rgb legend_frame;
    double band_alpha;          /* opacity of shaded bands */
    double legend_alpha;        /* opacity of the legend background */

    /* default figure size, points */
    double figure_width;
    double figure_height;

    /* resolution of images (heat maps, colour bars) embedded in PDF and
     * SVG, pixels per inch; PNG output uses the caller's resolution */
    double vector_ppi;
} plot_theme;

/* Returns the lecture-slide theme: a full 16:9 slide figure (720 x 405 pt)
 * with text large enough to read from the back of a lecture room. The
 * returned theme is static; do not free it. */
const plot_theme *plot_theme_slide(void);

/* Returns the journal theme: a two-column-wide figure (504 x 252 pt) with
 * 7-9 pt text. Static; do not free it. */
const plot_theme *plot_theme_paper(void);

#endif
