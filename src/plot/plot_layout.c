/* plot_layout.c - axis ranges, ticks and margins measured from text.
 *
 * Layout runs in passes. Each pass places ticks on every axis with the
 * current tick budget (8 at first), measures every label, computes the
 * margins each panel needs, aligns them across the grid, and derives the
 * data areas. Then it checks that neighbouring tick labels do not overlap
 * at the resulting tick spacing. An axis whose labels overlap loses one
 * tick from its budget, and the pass repeats. The result is the first pass
 * without overlaps, or an error when a budget reaches 3 and still
 * overlaps, or when a data area falls below the theme's min_area.
 */
#include "plot_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PASSES 48
#define MIN_TICKS 3

/* ---- mapping ---- */

double plot_axis_position(const plot_axis *axis, double value, double length)
{
    double lo = axis->ticks.lo, hi = axis->ticks.hi;
    if (axis->scale == PLOT_SCALE_LOG) {
        if (!(value > 0.0))
            return NAN;
        return (log10(value) - log10(lo)) / (log10(hi) - log10(lo)) * length;
    }
    return (value - lo) / (hi - lo) * length;
}

double plot_panel_x(const plot_panel *panel, double x)
{
    return panel->area.x + plot_axis_position(&panel->axis[PLOT_X], x, panel->area.width);
}

double plot_panel_y(const plot_panel *panel, double y)
{
    return panel->area.y + panel->area.height -
           plot_axis_position(&panel->axis[PLOT_Y], y, panel->area.height);
}

plot_rect plot_panel_area(const plot_panel *panel)
{
    return panel->area;
}

const plot_ticks *plot_panel_ticks(const plot_panel *panel, plot_axis_id axis)
{
    return &panel->axis[axis].ticks;
}

/* ---- data ranges ---- */

typedef struct {
    double lo, hi;
    bool any;
    bool exact;  /* a heat map wants the axis to end at its extent */
} data_range;

/* Adds one value to the range; NaN is a gap and is skipped. */
static int include(data_range *range, const plot_axis *axis, double value, const char *what,
                   const plot_panel *panel, dl_error *err)
{
    if (isnan(value))
        return 0;
    if (axis->scale == PLOT_SCALE_LOG && !(value > 0.0)) {
        char name[64];
        return dl_error_set(err, "%s: %s value %g cannot be shown on a log axis: values must "
                            "be above 0", plot_panel_name(panel, name, sizeof name), what, value);
    }
    if (!range->any || value < range->lo)
        range->lo = value;
    if (!range->any || value > range->hi)
        range->hi = value;
    range->any = true;
    return 0;
}

static int include_all(data_range *range, const plot_axis *axis, const double *values, size_t n,
                       const char *what, const plot_panel *panel, dl_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (include(range, axis, values[i], what, panel, err) != 0)
            return -1;
    return 0;
}

static int element_range(data_range *range, const plot_panel *panel, plot_axis_id id,
                         const plot_element *e, dl_error *err)
{
    const plot_axis *axis = &panel->axis[id];
    bool is_x = id == PLOT_X;
    switch (e->kind) {
    case ELEMENT_LINE:
    case ELEMENT_STEP:
    case ELEMENT_POINTS:
        return include_all(range, axis, is_x ? e->x : e->y, e->n, "series", panel, err);
    case ELEMENT_BAND:
        if (is_x)
            return include_all(range, axis, e->x, e->n, "band", panel, err);
        if (include_all(range, axis, e->y, e->n, "band", panel, err) != 0)
            return -1;
        return include_all(range, axis, e->y2, e->n, "band", panel, err);
    case ELEMENT_BARS:
        if (is_x) {
            if (include(range, axis, -0.5, "bar", panel, err) != 0)
                return -1;
            return include(range, axis, (double)e->groups - 0.5, "bar", panel, err);
        }
        if (axis->scale != PLOT_SCALE_LOG && include(range, axis, 0.0, "bar", panel, err) != 0)
            return -1;
        return include_all(range, axis, e->values, e->groups * e->series, "bar", panel, err);
    case ELEMENT_HEATMAP:
        range->exact = true;
        if (include(range, axis, is_x ? e->x0 : e->y0, "heat map extent", panel, err) != 0)
            return -1;
        return include(range, axis, is_x ? e->x1 : e->y1, "heat map extent", panel, err);
    case ELEMENT_VLINE:
        return is_x ? include(range, axis, e->at_x, "marker", panel, err) : 0;
    case ELEMENT_HLINE:
        return is_x ? 0 : include(range, axis, e->at_y, "marker", panel, err);
    case ELEMENT_CHIP:
    case ELEMENT_TEXT:
        return include(range, axis, is_x ? e->at_x : e->at_y, "annotation", panel, err);
    }
    return 0;
}

bool plot_keep_evenly(size_t i, size_t count, size_t budget)
{
    if (count <= budget)
        return true;
    if (budget <= 1)
        return i == 0;
    /* kept positions round(j (count - 1) / (budget - 1)), j = 0 .. budget - 1 */
    size_t slots = budget - 1;
    for (size_t j = 0; j <= slots; j++)
        if ((j * (count - 1) + slots / 2) / slots == i)
            return true;
    return false;
}

/* Places the fixed ticks of plot_panel_set_tick_values inside [lo, hi]:
 * at most max_ticks of those that lie inside, evenly spaced (in decades
 * on a log axis) with the first and the last among them. Without limits the range is the data's,
 * padded by 5 % of its width (on a log axis, of its width in decades). */
static int fixed_ticks(plot_axis *axis, double lo, double hi, plot_range_mode mode,
                       const plot_panel *panel, plot_axis_id id, dl_error *err)
{
    bool log_scale = axis->scale == PLOT_SCALE_LOG;
    if (mode == PLOT_RANGE_NICE) {
        double a = log_scale ? log10(lo) : lo, b = log_scale ? log10(hi) : hi;
        double pad = b > a ? 0.05 * (b - a) : 0.5;
        a -= pad;
        b += pad;
        lo = log_scale ? pow(10.0, a) : a;
        hi = log_scale ? pow(10.0, b) : b;
    }
    if (!(lo < hi) || (log_scale && !(lo > 0.0))) {
        char name[64];
        return dl_error_set(err, "%s, %s axis: the range [%g, %g] cannot hold fixed ticks",
                            plot_panel_name(panel, name, sizeof name),
                            id == PLOT_X ? "x" : "y", lo, hi);
    }

    size_t inside = 0;
    for (size_t i = 0; i < axis->tick_count; i++)
        inside += axis->tick_values[i] >= lo && axis->tick_values[i] <= hi;
    size_t budget = axis->max_ticks > 0 ? axis->max_ticks : 1;

    /* Which inside ticks to keep: evenly spaced in order on a linear axis;
     * on a log axis the one nearest to each of budget evenly spaced
     * positions in decades, so that 1 .. 64 is not labelled 1, 22, 43, 64. */
    bool keep[PLOT_CATEGORIES_MAX] = {false};
    size_t first = axis->tick_count, last = 0, seen = 0;
    for (size_t i = 0; i < axis->tick_count; i++) {
        double value = axis->tick_values[i];
        if (!(value >= lo && value <= hi))
            continue;
        keep[i] = plot_keep_evenly(seen++, inside, budget);
        first = first < i ? first : i;
        last = i;
    }
    if (log_scale && inside > budget && budget >= 2) {
        memset(keep, 0, sizeof keep);
        double a = log10(axis->tick_values[first]), b = log10(axis->tick_values[last]);
        for (size_t j = 0; j < budget; j++) {
            double target = a + (b - a) * (double)j / (double)(budget - 1);
            size_t best = first;
            for (size_t i = first; i <= last; i++)
                if (fabs(log10(axis->tick_values[i]) - target)
                    < fabs(log10(axis->tick_values[best]) - target))
                    best = i;
            keep[best] = true;
        }
    }

    memset(&axis->ticks, 0, sizeof axis->ticks);
    axis->ticks.lo = lo;
    axis->ticks.hi = hi;
    for (size_t i = 0; i < axis->tick_count; i++) {
        if (!keep[i])
            continue;
        size_t k = axis->ticks.count++;
        axis->ticks.value[k] = axis->tick_values[i];
        snprintf(axis->ticks.label[k], PLOT_TICK_LABEL_MAX, "%s", axis->tick_labels[i]);
    }
    return 0;
}

/* Places the ticks of one axis with its current budget. */
static int place_ticks(plot_panel *panel, plot_axis_id id, dl_error *err)
{
    plot_axis *axis = &panel->axis[id];
    char name[64];

    if (axis->scale == PLOT_SCALE_CATEGORY) {
        /* at most max_ticks labels, evenly spaced with the first and
         * the last category among them; the tick value is the index */
        size_t count = axis->category_count;
        size_t budget = axis->max_ticks > 0 ? axis->max_ticks : 1;
        memset(&axis->ticks, 0, sizeof axis->ticks);
        axis->ticks.lo = -0.5;
        axis->ticks.hi = (double)count - 0.5;
        for (size_t i = 0; i < count; i++)
            if (plot_keep_evenly(i, count, budget))
                axis->ticks.value[axis->ticks.count++] = (double)i;
        return 0;
    }

    data_range range = {0.0, 1.0, false, false};
    for (size_t i = 0; i < panel->element_count; i++)
        if (element_range(&range, panel, id, &panel->elements[i], err) != 0)
            return -1;

    if (axis->has_include &&
        (include(&range, axis, axis->include_lo, "included", panel, err) != 0 ||
         include(&range, axis, axis->include_hi, "included", panel, err) != 0))
        return -1;

    double lo = range.lo, hi = range.hi;
    plot_range_mode mode = range.exact ? PLOT_RANGE_EXACT : PLOT_RANGE_NICE;
    if (axis->has_limits) {
        lo = axis->limit_lo;
        hi = axis->limit_hi;
        mode = PLOT_RANGE_EXACT;
    } else if (!range.any) {
        lo = axis->scale == PLOT_SCALE_LOG ? 1.0 : 0.0;
        hi = axis->scale == PLOT_SCALE_LOG ? 10.0 : 1.0;
    }
    if (mode == PLOT_RANGE_EXACT && lo > hi) {
        double swap = lo;
        lo = hi;
        hi = swap;
    }

    if (axis->tick_count > 0)
        return fixed_ticks(axis, lo, hi, mode, panel, id, err);

    int status;
    if (axis->scale == PLOT_SCALE_LOG)
        status = plot_ticks_log(&axis->ticks, lo, hi, mode, axis->max_ticks, err);
    else if (axis->integer)
        status = plot_ticks_integer(&axis->ticks, lo, hi, mode, axis->max_ticks, err);
    else
        status = plot_ticks_linear(&axis->ticks, lo, hi, mode, axis->max_ticks, err);
    if (status != 0)
        return dl_error_prefix(err, "%s, %s axis", plot_panel_name(panel, name, sizeof name),
                               id == PLOT_X ? "x" : "y");
    return 0;
}

/* ---- labels ---- */

static const char *tick_label(const plot_axis *axis, size_t i)
{
    if (axis->scale == PLOT_SCALE_CATEGORY)
        return axis->categories[(size_t)axis->ticks.value[i]];
    return axis->ticks.label[i];
}

char *plot_title_markup(const char *title, const char *unit, int exponent)
{
    char factor[64] = "";
    if (exponent != 0)
        snprintf(factor, sizeof factor, "\xc3\x97" "10<sup>%s%d</sup>",
                 exponent < 0 ? "\xe2\x88\x92" : "", exponent < 0 ? -exponent : exponent);
    if (title == NULL)
        return factor[0] != '\0' ? strdup(factor) : NULL;

    size_t size = strlen(title) + (unit != NULL ? strlen(unit) : 0) + strlen(factor) + 8;
    char *markup = malloc(size);
    if (markup == NULL)
        return NULL;
    if (unit != NULL && factor[0] != '\0')
        snprintf(markup, size, "%s (%s %s)", title, factor, unit);
    else if (unit != NULL)
        snprintf(markup, size, "%s (%s)", title, unit);
    else if (factor[0] != '\0')
        snprintf(markup, size, "%s (%s)", title, factor);
    else
        snprintf(markup, size, "%s", title);
    return markup;
}

char *plot_axis_title_markup(const plot_axis *axis)
{
    int exponent = axis->scale == PLOT_SCALE_LINEAR ? axis->ticks.exponent : 0;
    return plot_title_markup(axis->title, axis->unit, exponent);
}

/* Measures what one panel needs round its data area; fills panel->needed. */
static int measure_panel(plot_panel *panel, plot_text *text, dl_error *err)
{
    const plot_theme *theme = panel->figure->theme;
    plot_axis *x = &panel->axis[PLOT_X];
    plot_axis *y = &panel->axis[PLOT_Y];
    plot_margins need = {0.0, 0.0, 0.0, 0.0};

    /* y axis: the widest tick label, then the rotated title */
    if (!y->hidden) {
        y->label_extent = 0.0;
        double first_height = 0.0, last_height = 0.0;
        for (size_t i = 0; i < y->ticks.count; i++) {
            plot_size s = plot_text_size(text, tick_label(y, i), theme->tick_label_size);
            if (s.width > y->label_extent)
                y->label_extent = s.width;
            if (i == 0)
                first_height = s.height;
            last_height = s.height;
        }
        need.left = theme->tick_length + theme->label_pad + y->label_extent;
        char *title = plot_axis_title_markup(y);
        if (y->title != NULL && title == NULL)
            return dl_error_set(err, "out of memory laying out an axis title");
        if (title != NULL) {
            need.left += theme->label_pad + plot_text_size(text, title, theme->axis_title_size).height;
            free(title);
        }
        /* labels at the ends are centred on their ticks and stick out */
        need.bottom = fmax(need.bottom, 0.5 * first_height);
        need.top = fmax(need.top, 0.5 * last_height);
    }

    /* x axis: the tallest tick label, then the title */
    double last_width = 0.0;
    if (!x->hidden) {
        x->label_extent = 0.0;
        double first_width = 0.0;
        for (size_t i = 0; i < x->ticks.count; i++) {
            plot_size s = plot_text_size(text, tick_label(x, i), theme->tick_label_size);
            if (s.height > x->label_extent)
                x->label_extent = s.height;
            if (i == 0)
                first_width = s.width;
            last_width = s.width;
        }
        need.bottom = fmax(need.bottom, theme->tick_length + theme->label_pad + x->label_extent);
        char *title = plot_axis_title_markup(x);
        if (x->title != NULL && title == NULL)
            return dl_error_set(err, "out of memory laying out an axis title");
        if (title != NULL) {
            need.bottom += theme->label_pad + plot_text_size(text, title, theme->axis_title_size).height;
            free(title);
        }
        need.left = fmax(need.left, 0.5 * first_width);
        need.right = fmax(need.right, 0.5 * last_width);
    }

    /* panel title above the area */
    if (panel->title != NULL)
        need.top = fmax(need.top, plot_text_size(text, panel->title, theme->title_size).height +
                                      theme->title_pad);

    /* colour bar and outside legend to the right */
    double right = 0.0;
    if (panel->has_colorbar) {
        if (plot_ticks_linear(&panel->colorbar_ticks, panel->colorbar_vmin, panel->colorbar_vmax,
                              PLOT_RANGE_EXACT, 6, err) != 0)
            return dl_error_prefix(err, "colour bar");
        right += plot_colorbar_measure(panel, text, 0.5 * last_width);
    }
    plot_legend_measure(panel, text);
    if (panel->legend == PLOT_LEGEND_OUTSIDE_RIGHT && panel->legend_width > 0.0)
        right += theme->legend_pad + panel->legend_width;
    need.right = fmax(need.right, right);

    /* a little air where nothing else claims space */
    need.top = fmax(need.top, 2.0);
    need.right = fmax(need.right, 2.0);
    panel->needed = need;
    return 0;
}

/* ---- grid and alignment ---- */

static void place_boxes(plot_figure *figure)
{
    const plot_theme *theme = figure->theme;
    double top = theme->outer_margin + figure->title_height;
    double cell_width = (figure->width - 2.0 * theme->outer_margin -
                         (figure->cols - 1) * theme->panel_gap) / figure->cols;
    double cell_height = (figure->height - top - theme->outer_margin -
                          (figure->rows - 1) * theme->panel_gap) / figure->rows;

    for (size_t i = 0; i < figure->panel_count; i++) {
        plot_panel *p = figure->panels[i];
        p->box.x = theme->outer_margin + p->col * (cell_width + theme->panel_gap);
        p->box.y = top + p->row * (cell_height + theme->panel_gap);
        p->box.width = p->col_span * cell_width + (p->col_span - 1) * theme->panel_gap;
        p->box.height = p->row_span * cell_height + (p->row_span - 1) * theme->panel_gap;
    }
}

/* Panels that start in one grid column share the largest left margin, and
 * so on for the other three sides. */
static void align_margins(plot_figure *figure)
{
    for (size_t i = 0; i < figure->panel_count; i++) {
        plot_panel *p = figure->panels[i];
        p->margins = p->needed;
        for (size_t j = 0; j < figure->panel_count; j++) {
            const plot_panel *q = figure->panels[j];
            if (q->col == p->col)
                p->margins.left = fmax(p->margins.left, q->needed.left);
            if (q->col + q->col_span == p->col + p->col_span)
                p->margins.right = fmax(p->margins.right, q->needed.right);
            if (q->row == p->row)
                p->margins.top = fmax(p->margins.top, q->needed.top);
            if (q->row + q->row_span == p->row + p->row_span)
                p->margins.bottom = fmax(p->margins.bottom, q->needed.bottom);
        }
        p->area.x = p->box.x + p->margins.left;
        p->area.y = p->box.y + p->margins.top;
        p->area.width = p->box.width - p->margins.left - p->margins.right;
        p->area.height = p->box.height - p->margins.top - p->margins.bottom;
    }
}

/* For plot_figure_set_equal_areas: keeps each grid column's aligned
 * margins and gives every column the same data-area width, placing the
 * columns left to right from the outer margin. */
static void equal_areas(plot_figure *figure)
{
    const plot_theme *theme = figure->theme;
    for (size_t i = 0; i < figure->panel_count; i++)
        if (figure->panels[i]->col_span != 1)
            return; /* spanning panels keep the aligned layout */
    double left[PLOT_GRID_MAX] = {0}, right[PLOT_GRID_MAX] = {0};
    for (size_t i = 0; i < figure->panel_count; i++) {
        const plot_panel *p = figure->panels[i];
        left[p->col] = fmax(left[p->col], p->margins.left);
        right[p->col] = fmax(right[p->col], p->margins.right);
    }
    double free_width = figure->width - 2.0 * theme->outer_margin -
                        (figure->cols - 1) * theme->panel_gap;
    for (int c = 0; c < figure->cols; c++)
        free_width -= left[c] + right[c];
    double width = free_width / figure->cols;

    double start[PLOT_GRID_MAX];
    double cursor = theme->outer_margin;
    for (int c = 0; c < figure->cols; c++) {
        start[c] = cursor + left[c];
        cursor = start[c] + width + right[c] + theme->panel_gap;
    }
    for (size_t i = 0; i < figure->panel_count; i++) {
        plot_panel *p = figure->panels[i];
        p->margins.left = left[p->col];
        p->margins.right = right[p->col];
        p->area.x = start[p->col];
        p->area.width = width;
    }
}

/* ---- overlap checks ---- */

/* Returns true when neighbouring tick labels of a laid-out axis overlap. */
static bool labels_overlap(const plot_panel *panel, plot_axis_id id, plot_text *text)
{
    const plot_axis *axis = &panel->axis[id];
    const plot_theme *theme = panel->figure->theme;
    if (axis->hidden || axis->ticks.count < 2)
        return false;

    double gap = 0.4 * theme->tick_label_size;
    double length = id == PLOT_X ? panel->area.width : panel->area.height;
    double previous_position = 0.0, previous_half = 0.0;
    for (size_t i = 0; i < axis->ticks.count; i++) {
        plot_size s = plot_text_size(text, tick_label(axis, i), theme->tick_label_size);
        double half = 0.5 * (id == PLOT_X ? s.width : s.height);
        double position = plot_axis_position(axis, axis->ticks.value[i], length);
        if (i > 0 && position - previous_position < previous_half + half + gap)
            return true;
        previous_position = position;
        previous_half = half;
    }
    return false;
}

/* ---- the whole layout ---- */

static int check_areas(const plot_figure *figure, dl_error *err)
{
    const plot_theme *theme = figure->theme;
    for (size_t i = 0; i < figure->panel_count; i++) {
        const plot_panel *p = figure->panels[i];
        if (p->area.width < theme->min_area || p->area.height < theme->min_area) {
            char name[64];
            return dl_error_set(err, "%s: its labels leave a data area of %.1f x %.1f pt, less "
                                "than the minimum %.1f pt: enlarge the figure or shorten the "
                                "labels", plot_panel_name(p, name, sizeof name), p->area.width,
                                p->area.height, theme->min_area);
        }
    }
    return 0;
}

static int run_pass(plot_figure *figure, plot_text *text, bool *changed, dl_error *err)
{
    *changed = false;
    for (size_t i = 0; i < figure->panel_count; i++) {
        plot_panel *p = figure->panels[i];
        if (place_ticks(p, PLOT_X, err) != 0 || place_ticks(p, PLOT_Y, err) != 0)
            return -1;
        if (measure_panel(p, text, err) != 0)
            return -1;
    }
    align_margins(figure);
    if (figure->equal_areas)
        equal_areas(figure);
    if (check_areas(figure, err) != 0)
        return -1;

    for (size_t i = 0; i < figure->panel_count; i++) {
        plot_panel *p = figure->panels[i];
        for (int id = PLOT_X; id <= PLOT_Y; id++) {
            if (!labels_overlap(p, (plot_axis_id)id, text))
                continue;
            plot_axis *axis = &p->axis[id];
            char name[64];
            /* a category axis may keep a single label; other axes need
             * MIN_TICKS to show their scale */
            size_t fewest = axis->scale == PLOT_SCALE_CATEGORY ? 1 : MIN_TICKS;
            if (axis->max_ticks <= fewest)
                return dl_error_set(err, "%s: the %s tick labels overlap even with %zu ticks: "
                                    "enlarge the figure or shorten the labels",
                                    plot_panel_name(p, name, sizeof name), id == PLOT_X ? "x" : "y",
                                    axis->ticks.count);
            axis->max_ticks--;
            *changed = true;
        }
    }
    return 0;
}

int plot_figure_layout(plot_figure *figure, dl_error *err)
{
    if (figure->laid_out)
        return 0;
    if (figure->panel_count == 0)
        return dl_error_set(err, "figure has no panels to lay out");

    plot_text *text = plot_text_open(figure->theme, err);
    if (text == NULL)
        return -1;

    const plot_theme *theme = figure->theme;
    figure->title_height = 0.0;
    if (figure->title != NULL)
        figure->title_height = plot_text_size(text, figure->title, theme->figure_title_size).height +
                               theme->title_pad;
    place_boxes(figure);

    for (size_t i = 0; i < figure->panel_count; i++) {
        for (int id = PLOT_X; id <= PLOT_Y; id++) {
            plot_axis *axis = &figure->panels[i]->axis[id];
            /* categories start with every label, up to the tick limit */
            axis->max_ticks = axis->scale != PLOT_SCALE_CATEGORY ? PLOT_TICKS_DEFAULT_COUNT
                              : axis->category_count < PLOT_TICKS_MAX ? axis->category_count
                                                                      : PLOT_TICKS_MAX;
        }
    }

    int status = 0;
    bool changed = true;
    for (int pass = 0; pass < MAX_PASSES && changed && status == 0; pass++)
        status = run_pass(figure, text, &changed, err);
    if (status == 0 && changed)
        status = dl_error_set(err, "figure layout did not settle after %d passes", MAX_PASSES);

    plot_text_close(text);
    figure->laid_out = status == 0;
    return status;
}
