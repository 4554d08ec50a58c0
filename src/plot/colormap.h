/* colormap.h - colours of the plotting layer: continuous colour maps for
 * magnitudes and a categorical palette for classes.
 *
 * Continuous maps are the perceptually uniform viridis family, looked up
 * by t in [0, 1] with linear interpolation between the 256 published
 * entries: with u = t * 255, i = floor(u) and f = u - i, the colour is
 * (1 - f) * table[i] + f * table[i + 1]. Interpolation is done on the sRGB
 * components as published, not in a linear-light space.
 *
 * The categorical palette is Okabe and Ito's eight colours, which stay
 * distinct under the common forms of colour-vision deficiency (Masataka
 * Okabe and Kei Ito, "Color Universal Design (CUD): How to make figures and
 * presentations that are friendly to colorblind people", 2002).
 *
 * Everything here is a pure function of its arguments. Rainbow maps are
 * left out on purpose: they are not perceptually uniform.
 */
#ifndef DRIFTLAB_PLOT_COLORMAP_H
#define DRIFTLAB_PLOT_COLORMAP_H

#include <stddef.h>

/* An sRGB colour, each component in [0, 1]. */
typedef struct {
    double r, g, b;
} plot_rgb;

typedef enum {
    PLOT_COLORMAP_VIRIDIS,
    PLOT_COLORMAP_MAGMA,
    PLOT_COLORMAP_CIVIDIS,
} plot_colormap;

#define PLOT_COLORMAP_ENTRIES 256
#define PLOT_PALETTE_SIZE 8

/* The published tables, in colormap_tables.c: entry i is the colour at
 * t = i / 255. */
extern const double plot_viridis_table[PLOT_COLORMAP_ENTRIES][3];
extern const double plot_magma_table[PLOT_COLORMAP_ENTRIES][3];
extern const double plot_cividis_table[PLOT_COLORMAP_ENTRIES][3];

/* Returns the colour of `map` at t. t below 0 or above 1 is clamped to the
 * end of the map. NaN has no place on the map and gives mid grey
 * (0.5, 0.5, 0.5); plot_heatmap leaves NaN cells transparent instead of
 * calling this. */
plot_rgb plot_colormap_lookup(plot_colormap map, double t);

/* Returns the lower-case name of the map ("viridis"), or "unknown". */
const char *plot_colormap_name(plot_colormap map);

/* Returns category colour `index` of the Okabe-Ito palette, cycling after
 * PLOT_PALETTE_SIZE. The published order is black, orange, sky blue,
 * bluish green, yellow, blue, vermillion, reddish purple. Here the colours
 * that read best as thin lines on white come first: blue, orange, bluish
 * green, vermillion, reddish purple, sky blue, yellow, black. */
plot_rgb plot_palette_color(size_t index);

/* Returns the WCAG 2.1 relative luminance of c: the sRGB components are
 * linearised and weighted 0.2126 R + 0.7152 G + 0.0722 B. In [0, 1]. */
double plot_relative_luminance(plot_rgb c);

/* Returns black or white, whichever has the higher WCAG contrast ratio
 * (L1 + 0.05) / (L2 + 0.05) against `background`: the text colour for a
 * label drawn on that background. */
plot_rgb plot_contrast_text_color(plot_rgb background);

#endif
