/* colormap.c - colour-map lookup, the categorical palette and text
 * contrast; see colormap.h. The tables themselves are in colormap_tables.c.
 */
#include "colormap.h"

#include <math.h>

static const double (*table_of(plot_colormap map))[3]
{
    switch (map) {
    case PLOT_COLORMAP_MAGMA:
        return plot_magma_table;
    case PLOT_COLORMAP_CIVIDIS:
        return plot_cividis_table;
    case PLOT_COLORMAP_VIRIDIS:
    default:
        return plot_viridis_table;
    }
}

plot_rgb plot_colormap_lookup(plot_colormap map, double t)
{
    if (isnan(t))
        return (plot_rgb){0.5, 0.5, 0.5};

    const double (*table)[3] = table_of(map);
    if (t <= 0.0)
        return (plot_rgb){table[0][0], table[0][1], table[0][2]};
    if (t >= 1.0) {
        const double *last = table[PLOT_COLORMAP_ENTRIES - 1];
        return (plot_rgb){last[0], last[1], last[2]};
    }

    /* u in (0, 255): entry i and its right neighbour both exist */
    double u = t * (PLOT_COLORMAP_ENTRIES - 1);
    size_t i = (size_t)u;
    if (i >= PLOT_COLORMAP_ENTRIES - 1)
        i = PLOT_COLORMAP_ENTRIES - 2;
    double f = u - (double)i;
    const double *a = table[i];
    const double *b = table[i + 1];
    return (plot_rgb){
        (1.0 - f) * a[0] + f * b[0],
        (1.0 - f) * a[1] + f * b[1],
        (1.0 - f) * a[2] + f * b[2],
    };
}

const char *plot_colormap_name(plot_colormap map)
{
    switch (map) {
    case PLOT_COLORMAP_VIRIDIS:
        return "viridis";
    case PLOT_COLORMAP_MAGMA:
        return "magma";
    case PLOT_COLORMAP_CIVIDIS:
        return "cividis";
    }
    return "unknown";
}

/* Okabe-Ito colours as published in 8-bit sRGB, in plotting order. */
static const unsigned char okabe_ito[PLOT_PALETTE_SIZE][3] = {
    {0, 114, 178},   /* blue */
    {230, 159, 0},   /* orange */
    {0, 158, 115},   /* bluish green */
    {213, 94, 0},    /* vermillion */
    {204, 121, 167}, /* reddish purple */
    {86, 180, 233},  /* sky blue */
    {240, 228, 66},  /* yellow */
    {0, 0, 0},       /* black */
};

plot_rgb plot_palette_color(size_t index)
{
    const unsigned char *c = okabe_ito[index % PLOT_PALETTE_SIZE];
    return (plot_rgb){c[0] / 255.0, c[1] / 255.0, c[2] / 255.0};
}

/* The sRGB transfer function inverted, as WCAG 2.1 defines it. */
static double linearise(double component)
{
    if (component <= 0.04045)
        return component / 12.92;
    return pow((component + 0.055) / 1.055, 2.4);
}

double plot_relative_luminance(plot_rgb c)
{
    return 0.2126 * linearise(c.r) + 0.7152 * linearise(c.g) + 0.0722 * linearise(c.b);
}

plot_rgb plot_contrast_text_color(plot_rgb background)
{
    double luminance = plot_relative_luminance(background);
    double against_white = 1.05 / (luminance + 0.05);
    double against_black = (luminance + 0.05) / 0.05;
    if (against_white >= against_black)
        return (plot_rgb){1.0, 1.0, 1.0};
    return (plot_rgb){0.0, 0.0, 0.0};
}
