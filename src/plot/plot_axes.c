/* plot_axes.c - grid lines, axis lines, tick marks, tick labels, axis
 * titles and panel titles of a laid-out panel.
 *
 * Only the left and bottom axis lines are drawn; ticks point outward so
 * they never cover data. Tick labels sit label_pad beyond the tick ends,
 * centred on their ticks; the y-axis title reads bottom to top. All
 * positions come from the layout, so nothing here measures margins.
 */
#include "plot_internal.h"

#include <math.h>
#include <stdlib.h>

#define HALF_PI 1.57079632679489661923

static const char *tick_label(const plot_axis *axis, size_t i)
{
    if (axis->scale == PLOT_SCALE_CATEGORY)
        return axis->categories[(size_t)axis->ticks.value[i]];
    return axis->ticks.label[i];
}

void plot_axes_draw_grid(const plot_panel *panel, cairo_t *cr)
{
    const plot_theme *theme = panel->figure->theme;
    const plot_rect *a = &panel->area;

    cairo_save(cr);
    cairo_set_line_width(cr, theme->grid_width);
    plot_set_color(cr, theme->grid, 1.0);
    const plot_axis *x = &panel->axis[PLOT_X];
    if (x->grid && x->scale != PLOT_SCALE_CATEGORY) {
        for (size_t i = 0; i < x->ticks.count; i++) {
            double px = plot_panel_x(panel, x->ticks.value[i]);
            cairo_move_to(cr, px, a->y);
            cairo_line_to(cr, px, a->y + a->height);
        }
    }
    const plot_axis *y = &panel->axis[PLOT_Y];
    if (y->grid && y->scale != PLOT_SCALE_CATEGORY) {
        for (size_t i = 0; i < y->ticks.count; i++) {
            double py = plot_panel_y(panel, y->ticks.value[i]);
            cairo_move_to(cr, a->x, py);
            cairo_line_to(cr, a->x + a->width, py);
        }
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

static void draw_x_axis(const plot_panel *panel, plot_text *text, cairo_t *cr)
{
    const plot_theme *theme = panel->figure->theme;
    const plot_axis *axis = &panel->axis[PLOT_X];
    const plot_rect *a = &panel->area;
    double bottom = a->y + a->height;

    /* axis line and ticks, major then minor */
    cairo_set_line_width(cr, theme->axis_width);
    cairo_move_to(cr, a->x, bottom);
    cairo_line_to(cr, a->x + a->width, bottom);
    cairo_stroke(cr);
    cairo_set_line_width(cr, theme->tick_width);
    for (size_t i = 0; i < axis->ticks.count; i++) {
        double px = plot_panel_x(panel, axis->ticks.value[i]);
        cairo_move_to(cr, px, bottom);
        cairo_line_to(cr, px, bottom + theme->tick_length);
    }
    for (size_t i = 0; i < axis->ticks.minor_count; i++) {
        double px = plot_panel_x(panel, axis->ticks.minor[i]);
        cairo_move_to(cr, px, bottom);
        cairo_line_to(cr, px, bottom + 0.6 * theme->tick_length);
    }
    cairo_stroke(cr);

    /* labels, then the title under them */
    double label_top = bottom + theme->tick_length + theme->label_pad;
    for (size_t i = 0; i < axis->ticks.count; i++)
        plot_text_show(text, cr, tick_label(axis, i), theme->tick_label_size,
                       plot_panel_x(panel, axis->ticks.value[i]), label_top, PLOT_ANCHOR_TOP, 0.0,
                       theme->text);
    char *title = plot_axis_title_markup(axis);
    if (title != NULL) {
        plot_text_show(text, cr, title, theme->axis_title_size, a->x + 0.5 * a->width,
                       label_top + axis->label_extent + theme->label_pad, PLOT_ANCHOR_TOP, 0.0,
                       theme->text);
        free(title);
    }
}

static void draw_y_axis(const plot_panel *panel, plot_text *text, cairo_t *cr)
{
    const plot_theme *theme = panel->figure->theme;
    const plot_axis *axis = &panel->axis[PLOT_Y];
    const plot_rect *a = &panel->area;

    cairo_set_line_width(cr, theme->axis_width);
    cairo_move_to(cr, a->x, a->y);
    cairo_line_to(cr, a->x, a->y + a->height);
    cairo_stroke(cr);
    cairo_set_line_width(cr, theme->tick_width);
    for (size_t i = 0; i < axis->ticks.count; i++) {
        double py = plot_panel_y(panel, axis->ticks.value[i]);
        cairo_move_to(cr, a->x, py);
        cairo_line_to(cr, a->x - theme->tick_length, py);
    }
    for (size_t i = 0; i < axis->ticks.minor_count; i++) {
        double py = plot_panel_y(panel, axis->ticks.minor[i]);
        cairo_move_to(cr, a->x, py);
        cairo_line_to(cr, a->x - 0.6 * theme->tick_length, py);
    }
    cairo_stroke(cr);

    double label_right = a->x - theme->tick_length - theme->label_pad;
    for (size_t i = 0; i < axis->ticks.count; i++)
        plot_text_show(text, cr, tick_label(axis, i), theme->tick_label_size, label_right,
                       plot_panel_y(panel, axis->ticks.value[i]), PLOT_ANCHOR_RIGHT, 0.0,
                       theme->text);
    char *title = plot_axis_title_markup(axis);
    if (title != NULL) {
        /* rotated a quarter turn: the text's top faces left, its body
         * extends right toward the labels */
        double title_height = plot_text_size(text, title, theme->axis_title_size).height;
        double title_left = label_right - axis->label_extent - theme->label_pad - title_height;
        plot_text_show(text, cr, title, theme->axis_title_size, title_left,
                       a->y + 0.5 * a->height, PLOT_ANCHOR_TOP, -HALF_PI, theme->text);
        free(title);
    }
}

void plot_axes_draw(const plot_panel *panel, plot_text *text, cairo_t *cr)
{
    const plot_theme *theme = panel->figure->theme;

    cairo_save(cr);
    plot_set_color(cr, theme->axis, 1.0);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_SQUARE);
    if (!panel->axis[PLOT_X].hidden)
        draw_x_axis(panel, text, cr);
    plot_set_color(cr, theme->axis, 1.0);
    if (!panel->axis[PLOT_Y].hidden)
        draw_y_axis(panel, text, cr);
    cairo_restore(cr);

    if (panel->title != NULL)
        plot_text_show(text, cr, panel->title, theme->title_size, panel->area.x,
                       panel->area.y - theme->title_pad, PLOT_ANCHOR_BOTTOM_LEFT, 0.0, theme->text);
}
