/* render.c - dl_render: load a results file, draw every figure into
 * OUT/figures, then write report.html, report.pdf and manifest.json; see
 * render.h.
 *
 * Order of work:
 *   1. the checks that need nothing written: SOURCE_DATE_EPOCH, the file
 *      name, and loading the file;
 *   2. the results file is placed in OUT (linked or copied) and checked
 *      against the file loaded;
 *   3. the old manifest and reports are removed;
 *   4. each figure is built and written in each format, and figure files
 *      of earlier renders that this one did not draw are removed;
 *   5. the two reports, and the manifest last, because it hashes every
 *      other file.
 * The drift figures are drawn when the file has /drift, the LoRA figures
 * after them when it has /lora. Figures that need a kept run's attention
 * rows are left out, with the reason in the report, when the file keeps
 * none (keep_attention = 0), and so are LoRA figures whose data the file
 * lacks (dl_figure_lora_skip_reason).
 *
 * The file loaded and the file placed must be one file, although the
 * path is read twice. So a descriptor opened before loading pins the
 * loaded file, and its status is compared after loading. A copy reads
 * the descriptor, and a link must end up with the descriptor's inode. *
 * The buffer and the figure drawing are here. Temporary-file writes,
 * placing the results file and removing stale figures and old reports
 * are in render_files.c.
 */
#include "render.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "config.h"
#include "log.h"
#include "output.h"
#include "output_folder.h"
#include "render_internal.h"
#include "theme.h"

_Static_assert(PLOT_PPI_MIN <= DL_RESULTS_PNG_PPI_MIN && DL_RESULTS_PNG_PPI_MAX <= PLOT_PPI_MAX,
               "every png_ppi dl_results_load accepts must be drawable");

/* ---- the buffer ---- */

void render_buffer_append(render_buffer *buffer, const void *data, size_t size)
{
    if (buffer->failed || size == 0)
        return;
    if (buffer->size + size + 1 > buffer->capacity) {
        size_t capacity = buffer->capacity == 0 ? 65536 : buffer->capacity;
        while (capacity < buffer->size + size + 1)
            capacity *= 2;
        unsigned char *grown = realloc(buffer->data, capacity);
        if (grown == NULL) {
            buffer->failed = true;
            return;
        }
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->size, data, size);
    buffer->size += size;
    buffer->data[buffer->size] = '\0'; /* text stays a C string */
}

void render_buffer_printf(render_buffer *buffer, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int needed = vsnprintf(NULL, 0, fmt, args);
    va_end(args);
    if (needed < 0) {
        buffer->failed = true;
        return;
    }
    char *text = malloc((size_t)needed + 1);
    if (text == NULL) {
        buffer->failed = true;
        return;
    }
    va_start(args, fmt);
    vsnprintf(text, (size_t)needed + 1, fmt, args);
    va_end(args);
    render_buffer_append(buffer, text, (size_t)needed);
    free(text);
}

void render_buffer_free(render_buffer *buffer)
{
    free(buffer->data);
    *buffer = (render_buffer){NULL, 0, 0, false};
}

/* ---- figures ---- */

/* Writes entry's figure as OUT/figures/NAME.EXT in each format and keeps
 * its SVG text for the HTML report (drawn into a temporary file and
 * removed when SVG is not among the formats). */
static int write_figure(const char *out_dir, render_entry *entry, unsigned formats, double ppi,
                        render_path_list *written, dl_error *err)
{
    static const struct {
        unsigned bit;
        plot_format format;
    } order[3] = {
        {DL_FORMAT_SVG, PLOT_FORMAT_SVG},
        {DL_FORMAT_PDF, PLOT_FORMAT_PDF},
        {DL_FORMAT_PNG, PLOT_FORMAT_PNG},
    };
    const char *name = dl_figure_name(entry->id);
    char relative[256];

    for (int i = 0; i < 3; i++) {
        if ((formats & order[i].bit) == 0)
            continue;
        snprintf(relative, sizeof relative, "figures/%s.%s", name,
                 plot_format_extension(order[i].format));
        char *path = render_join_path(out_dir, relative);
        if (path == NULL)
            return dl_error_set(err, "out of memory");
        int status = plot_figure_write(entry->built.figure, path, order[i].format, ppi, err);
        if (status == 0)
            status = render_path_list_add(written, relative, err);
        if (status == 0 && order[i].format == PLOT_FORMAT_SVG)
            status = render_read_file(path, &entry->svg, &entry->svg_size, err);
        free(path);
        if (status != 0)
            return -1;
    }
    if (entry->svg != NULL)
        return 0;

    /* the HTML report needs the SVG even when it is not an output */
    snprintf(relative, sizeof relative, "figures/.%s.report.svg", name);
    char *path = render_join_path(out_dir, relative);
    if (path == NULL)
        return dl_error_set(err, "out of memory");
    int status = plot_figure_write(entry->built.figure, path, PLOT_FORMAT_SVG, ppi, err);
    if (status == 0) {
        status = render_read_file(path, &entry->svg, &entry->svg_size, err);
        unlink(path);
    }
    free(path);
    return status;
}

/* ---- the whole render ---- */

int dl_render_check_environment(dl_error *err)
{
    char date[32];
    return plot_source_date(date, sizeof date, err);
}

typedef struct {
    render_source source;
    dl_results results;
    bool loaded;
    char *placed;      /* the results file this render linked or copied, or NULL */
    dl_results_run run;
    bool has_run;
    render_entry entries[DL_FIGURE_COUNT];
    size_t n_entries;
    render_skipped skipped[DL_FIGURE_COUNT];
    size_t n_skipped;
    render_path_list written;
} render_state;

static void state_free(render_state *state)
{
    for (size_t i = 0; i < state->n_entries; i++) {
        dl_figure_free(&state->entries[i].built);
        free(state->entries[i].svg);
    }
    if (state->has_run)
        dl_results_run_free(&state->run);
    if (state->loaded)
        dl_results_free(&state->results);
    if (state->source.fd >= 0)
        close(state->source.fd);
    free(state->placed);
    render_path_list_free(&state->written);
}
/* Builds and writes every figure; single-run figures are skipped with a
 * reason when no kept run can be chosen. */
static int draw_figures(render_state *state, const char *out_dir, unsigned formats,
                        dl_error *err)
{
    const dl_results *results = &state->results;
    dl_figure_run_choice choice = {0, 0};
    dl_error run_error;
    if (!results->has_drift) {
        /* no drift figure is drawn, so no run is chosen */
    } else if (dl_figures_choose_run(results, &choice, &run_error) == 0) {
        if (dl_results_load_run(results, choice.point, choice.kept_index, &state->run, err) != 0)
            return -1;
        state->has_run = true;
    } else if (results->n_kept > 0) {
        dl_error_set(err, "%s", run_error.message);
        return -1;
    }

    for (int id = 0; id < DL_FIGURE_COUNT; id++) {
        bool lora = dl_figure_is_lora((dl_figure_id)id);
        if ((lora && !results->has_lora) || (!lora && !results->has_drift))
            continue;
        const char *reason = lora ? dl_figure_lora_skip_reason((dl_figure_id)id, results)
                                  : NULL;
        if (reason != NULL) {
            state->skipped[state->n_skipped++] = (render_skipped){(dl_figure_id)id, reason};
            dl_log_info("%s: %s: %s", results->path, dl_figure_name((dl_figure_id)id), reason);
            continue;
        }
        if (dl_figure_needs_run((dl_figure_id)id) && !state->has_run) {
            state->skipped[state->n_skipped++] = (render_skipped){
                (dl_figure_id)id, "Not drawn: no seed keeps its attention rows "
                                  "(keep_attention = 0)."};
            dl_log_info("%s: %s not drawn: keep_attention = 0 stores no attention rows",
                        results->path, dl_figure_name((dl_figure_id)id));
            continue;
        }
        render_entry *entry = &state->entries[state->n_entries];
        memset(entry, 0, sizeof *entry);
        entry->id = (dl_figure_id)id;
        if (dl_figure_build(entry->id, results, &choice, state->has_run ? &state->run : NULL,
                            plot_theme_slide(), &entry->built, err) != 0)
            return dl_error_prefix(err, "%s: figure %s", results->path,
                                   dl_figure_name(entry->id));
        state->n_entries++;
        if (write_figure(out_dir, entry, formats, results->figures.png_ppi, &state->written,
                         err) != 0)
            return -1;
        dl_log_verbose("drew %s", dl_figure_name(entry->id));
    }
    return 0;
}

/* Writes one report file from its buffer and lists it. */
static int write_report(const char *out_dir, const char *name, render_buffer *buffer,
                        render_path_list *written, dl_error *err)
{
    char *path = render_join_path(out_dir, name);
    if (path == NULL)
        return dl_error_set(err, "out of memory");
    int status = 0;
    if (buffer->failed)
        status = dl_error_set(err, "%s: out of memory building the file", path);
    else
        status = dl_atomic_file_write(path, buffer->data, buffer->size, err);
    free(path);
    if (status == 0 && written != NULL)
        status = render_path_list_add(written, name, err);
    return status;
}

/* Opens and loads the results file, and checks that what was loaded is
 * the file the descriptor holds. */
static int load_source(render_state *state, const char *results_path, dl_error *err)
{
    state->source.fd = open(results_path, O_RDONLY | O_CLOEXEC);
    int open_errno = errno;
    if (state->source.fd >= 0 && fstat(state->source.fd, &state->source.st) != 0)
        return dl_error_set(err, "%s: cannot read its status: %s", results_path,
                            strerror(errno));
    if (dl_results_load(results_path, &state->results, err) != 0)
        return -1;
    state->loaded = true;
    if (state->source.fd < 0)
        return dl_error_set(err, "%s: cannot open: %s", results_path, strerror(open_errno));
    return render_source_check(&state->source, results_path, err);
}

/* Writes report.html, report.pdf and, last, manifest.json, which hashes
 * every other file. */
static int write_reports(render_state *state, const char *out_dir, dl_error *err)
{
    render_buffer html = {NULL, 0, 0, false}, pdf = {NULL, 0, 0, false};
    render_buffer manifest = {NULL, 0, 0, false};
    int status = render_report_html(&html, &state->results, state->entries, state->n_entries,
                                    state->skipped, state->n_skipped, err);
    if (status == 0)
        status = write_report(out_dir, "report.html", &html, &state->written, err);
    if (status == 0)
        status = render_report_pdf(&pdf, &state->results, state->entries, state->n_entries,
                                   state->skipped, state->n_skipped, err);
    if (status == 0)
        status = write_report(out_dir, "report.pdf", &pdf, &state->written, err);
    if (status == 0)
        status = render_manifest(&manifest, out_dir, (const char *const *)state->written.path,
                                 state->written.count, &state->results, err);
    if (status == 0)
        status = write_report(out_dir, "manifest.json", &manifest, NULL, err);
    render_buffer_free(&html);
    render_buffer_free(&pdf);
    render_buffer_free(&manifest);
    return status;
}

int dl_render(const char *results_path, const char *out_dir, unsigned formats, dl_error *err)
{
    /* what can be checked before anything is written */
    if (dl_render_check_environment(err) != 0 ||
        render_check_file_name(results_path, render_base_name(results_path), err) != 0)
        return -1;

    render_state state;
    memset(&state, 0, sizeof state);
    state.source.fd = -1;
    int status = load_source(&state, results_path, err);
    if (status == 0 && formats == 0)
        formats = state.results.figures.formats;
    if (formats == 0)
        formats = DL_FORMAT_SVG | DL_FORMAT_PDF | DL_FORMAT_PNG;

    /* The results file first, because a different file of its name stops
     * the render before anything changes. Then the old reports go, so a
     * render that fails midway leaves no report or manifest that claims
     * the folder is complete. */
    if (status == 0)
        status = dl_output_folder_create(out_dir, err);
    if (status == 0)
        status = render_place_results(results_path, &state.source, &state.results, out_dir,
                               &state.placed, err);
    if (status == 0)
        status = render_path_list_add(&state.written, render_base_name(results_path), err);
    if (status == 0)
        status = dl_render_remove_reports(out_dir, err);

    char *figures_dir = status == 0 ? render_join_path(out_dir, "figures") : NULL;
    if (status == 0 && figures_dir == NULL)
        status = dl_error_set(err, "out of memory");
    if (status == 0)
        status = dl_output_folder_create(figures_dir, err);
    free(figures_dir);
    if (status == 0)
        status = draw_figures(&state, out_dir, formats, err);
    if (status == 0)
        status = render_remove_stale_figures(out_dir, &state.written, err);
    if (status == 0)
        status = write_reports(&state, out_dir, err);

    /* a results file this render placed leaves with the failed render */
    if (status != 0 && state.placed != NULL && unlink(state.placed) == 0)
        dl_log_verbose("removed %s again, because the render failed", state.placed);
    state_free(&state);
    return status;
}
