/* plot_draw.c - drawing a whole figure on a cairo context.
 *
 * Order: background, figure title, then per panel the grid, the data
 * layers (plot_series.c), the axes, the colour bar and the legend, so that
 * axes and legends stay readable over the data. A cairo error anywhere
 * fails the whole drawing.
 */
#include "plot_internal.h"

int plot_figure_draw(plot_figure *figure, cairo_t *cr, double device_ppi, dl_error *err)
{
    if (!(device_ppi > 0.0))
        return dl_error_set(err, "device resolution %g ppi is invalid: it must be positive",
                            device_ppi);
    if (plot_figure_layout(figure, err) != 0)
        return -1;
    plot_text *text = plot_text_open(figure->theme, err);
    if (text == NULL)
        return -1;

    const plot_theme *theme = figure->theme;
    cairo_save(cr);
    cairo_rectangle(cr, 0.0, 0.0, figure->width, figure->height);
    plot_set_color(cr, theme->background, 1.0);
    cairo_fill(cr);

    if (figure->title != NULL)
        plot_text_show(text, cr, figure->title, theme->figure_title_size, 0.5 * figure->width,
                       theme->outer_margin, PLOT_ANCHOR_TOP, 0.0, theme->text);

    int status = 0;
    for (size_t i = 0; i < figure->panel_count && status == 0; i++) {
        const plot_panel *panel = figure->panels[i];
        plot_axes_draw_grid(panel, cr);
        status = plot_series_draw(panel, text, cr, device_ppi, err);
        if (status != 0)
            break;
        plot_axes_draw(panel, text, cr);
        if (panel->has_colorbar)
            status = plot_colorbar_draw(panel, text, cr, device_ppi, err);
        plot_legend_draw(panel, text, cr);
    }
    cairo_restore(cr);
    plot_text_close(text);

    if (status == 0 && cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        status = dl_error_set(err, "drawing the figure failed: %s",
                              cairo_status_to_string(cairo_status(cr)));
    return status;
}
