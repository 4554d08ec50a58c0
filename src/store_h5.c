/* store_h5.c - HDF5 error messages, attribute helpers and dimension names
 * of the store.
 *
 * store.c, store_resume.c, store_info.c and store_read.c share these
 * helpers through store_internal.h.
 *
 * Invariants:
 * - Every failure reaches the caller through dl_error as "FILE: OBJECT:
 *   MESSAGE". dl_store_h5_fail adds the innermost reason from HDF5's error
 *   stack and then clears that stack.
 * - Attributes are written with a scalar dataspace, and strings as
 *   variable-length UTF-8. The readers reject an attribute that is
 *   missing, has another type class or does not have exactly one element,
 *   and a string attribute of fixed length.
 */
#include "store_internal.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

void dl_store_h5_silence(void)
{
    /* Failing to switch the printing off only makes stderr noisier. */
    (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

typedef struct {
    char text[384];
} h5_reason;

static herr_t reason_visit(unsigned n, const H5E_error2_t *entry, void *data)
{
    h5_reason *reason = data;

    /* Walking upward, entry 0 is where the failure started. */
    if (n != 0)
        return 0;
    if (entry->desc != NULL && entry->desc[0] != '\0') {
        /* The file driver's description repeats the path and open flags
         * around the system's message; keep only that message. */
        const char marker[] = "error message = '";
        const char *message = strstr(entry->desc, marker);
        const char *end = message != NULL
            ? strchr(message + sizeof marker - 1, '\'') : NULL;
        if (end != NULL) {
            message += sizeof marker - 1;
            snprintf(reason->text, sizeof reason->text, "%.*s",
                     (int)(end - message), message);
        } else {
            snprintf(reason->text, sizeof reason->text, "%s", entry->desc);
        }
        return 0;
    }

    char minor[160];
    if (H5Eget_msg(entry->min_num, NULL, minor, sizeof minor) > 0)
        snprintf(reason->text, sizeof reason->text, "%s", minor);
    return 0;
}

int dl_store_h5_fail(dl_error *err, const char *file, const char *object,
                     const char *fmt, ...)
{
    h5_reason reason = {.text = ""};
    (void)H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, reason_visit, &reason);
    (void)H5Eclear2(H5E_DEFAULT);

    char what[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);

    if (reason.text[0] == '\0')
        return dl_error_set(err, "%s: %s: %s", file, object, what);
    return dl_error_set(err, "%s: %s: %s (HDF5: %s)", file, object, what,
                        reason.text);
}

/* Returns a new variable-length UTF-8 string type, or a negative id. */
static hid_t string_type_create(void)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type < 0)
        return H5I_INVALID_HID;
    if (H5Tset_size(type, H5T_VARIABLE) < 0
        || H5Tset_cset(type, H5T_CSET_UTF8) < 0) {
        H5Tclose(type);
        return H5I_INVALID_HID;
    }
    return type;
}

/* Writes a scalar attribute: value in memory_type, stored as file_type. */
int dl_store_attribute_write(hid_t object, const char *file,
                             const char *object_name, const char *name,
                             hid_t file_type, hid_t memory_type,
                             const void *value, dl_error *err)
{
    hid_t space = H5Screate(H5S_SCALAR);
    if (space < 0)
        return dl_store_h5_fail(err, file, object_name,
                                "creating attribute %s failed", name);

    hid_t attribute = H5Acreate2(object, name, file_type, space,
                                 H5P_DEFAULT, H5P_DEFAULT);
    if (attribute < 0) {
        dl_store_h5_fail(err, file, object_name,
                         "creating attribute %s failed", name);
        H5Sclose(space);
        return -1;
    }

    int status = 0;
    if (H5Awrite(attribute, memory_type, value) < 0)
        status = dl_store_h5_fail(err, file, object_name,
                                  "writing attribute %s failed", name);
    H5Aclose(attribute);
    H5Sclose(space);
    return status;
}

int dl_store_attribute_write_string(hid_t object, const char *file,
                                    const char *object_name, const char *name,
                                    const char *value, dl_error *err)
{
    hid_t type = string_type_create();
    if (type < 0)
        return dl_store_h5_fail(err, file, object_name,
                                "making the string type of attribute %s "
                                "failed", name);
    int status = dl_store_attribute_write(object, file, object_name, name,
                                          type, type, &value, err);
    H5Tclose(type);
    return status;
}

int dl_store_attribute_write_int32(hid_t object, const char *file,
                                   const char *object_name, const char *name,
                                   int32_t value, dl_error *err)
{
    return dl_store_attribute_write(object, file, object_name, name,
                                    H5T_STD_I32LE, H5T_NATIVE_INT32, &value,
                                    err);
}

/* Opens attribute name of object after checking that it exists. */
static hid_t attribute_open(hid_t object, const char *file,
                            const char *object_name, const char *name,
                            dl_error *err)
{
    htri_t exists = H5Aexists(object, name);
    if (exists < 0) {
        dl_store_h5_fail(err, file, object_name,
                         "looking up attribute %s failed", name);
        return H5I_INVALID_HID;
    }
    if (exists == 0) {
        dl_error_set(err, "%s: %s: attribute %s is missing", file,
                     object_name, name);
        return H5I_INVALID_HID;
    }

    hid_t attribute = H5Aopen(object, name, H5P_DEFAULT);
    if (attribute < 0)
        dl_store_h5_fail(err, file, object_name,
                         "opening attribute %s failed", name);
    return attribute;
}

/* Fails unless attribute contains one element of class expected. */
static int attribute_check_scalar(hid_t attribute, H5T_class_t expected,
                                  const char *file, const char *object_name,
                                  const char *name, const char *what,
                                  dl_error *err)
{
    hid_t type = H5Aget_type(attribute);
    hid_t space = H5Aget_space(attribute);
    int status = 0;
    if (type < 0 || space < 0)
        status = dl_store_h5_fail(err, file, object_name,
                                  "reading the type of attribute %s failed",
                                  name);
    else if (H5Tget_class(type) != expected
             || H5Sget_simple_extent_npoints(space) != 1)
        status = dl_error_set(err, "%s: %s: attribute %s is not %s", file,
                              object_name, name, what);
    else if (expected == H5T_STRING && H5Tis_variable_str(type) <= 0)
        status = dl_error_set(err, "%s: %s: attribute %s is not %s", file,
                              object_name, name, what);
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    return status;
}

int dl_store_read_string_attribute(hid_t object, const char *file,
                                   const char *object_name, const char *name,
                                   char **value, dl_error *err)
{
    *value = NULL;
    hid_t attribute = attribute_open(object, file, object_name, name, err);
    if (attribute < 0)
        return -1;

    hid_t type = H5I_INVALID_HID;
    char *text = NULL;
    int status = attribute_check_scalar(attribute, H5T_STRING, file,
                                        object_name, name,
                                        "a variable-length string", err);
    if (status != 0)
        goto done;

    type = string_type_create();
    if (type < 0 || H5Aread(attribute, type, &text) < 0 || text == NULL) {
        status = dl_store_h5_fail(err, file, object_name,
                                  "reading attribute %s failed", name);
        goto done;
    }

    size_t length = strlen(text);
    *value = malloc(length + 1);
    if (*value == NULL) {
        status = dl_error_set(err, "%s: %s: out of memory reading attribute "
                              "%s", file, object_name, name);
        goto done;
    }
    memcpy(*value, text, length + 1);

done:
    if (text != NULL)
        H5free_memory(text);
    if (type >= 0)
        H5Tclose(type);
    H5Aclose(attribute);
    return status;
}

/* Reads a scalar integer attribute converted to memory_type. */
static int attribute_read_integer(hid_t object, const char *file,
                                  const char *object_name, const char *name,
                                  hid_t memory_type, void *value,
                                  dl_error *err)
{
    hid_t attribute = attribute_open(object, file, object_name, name, err);
    if (attribute < 0)
        return -1;

    int status = attribute_check_scalar(attribute, H5T_INTEGER, file,
                                        object_name, name, "an integer", err);
    if (status == 0 && H5Aread(attribute, memory_type, value) < 0)
        status = dl_store_h5_fail(err, file, object_name,
                                  "reading attribute %s failed", name);
    H5Aclose(attribute);
    return status;
}

/* Characters of a string from a file shown in a message. */
#define TEXT_SHOWN_MAX 48

bool dl_store_text_escape(const char *text, char *escaped, size_t size)
{
    const unsigned char *p = (const unsigned char *)text;
    const unsigned char *end = p + strlen(text);
    bool valid = true;
    size_t used = 0, characters = 0;
    escaped[0] = '\0';
    while (p < end) {
        size_t length = dl_utf8_sequence_length(p, end);
        bool control = length == 1 ? (p[0] < 0x20 || p[0] == 0x7F)
                                   : (length == 2 && p[0] == 0xC2 && p[1] <= 0x9F);
        size_t step = length == 0 || control ? 1 : length;
        if (length == 0 || control)
            valid = false;
        if (characters < TEXT_SHOWN_MAX && used + 5 < size) {
            if (length == 0 || control)
                used += (size_t)snprintf(escaped + used, size - used, "\\x%02X", p[0]);
            else if (used + step < size) {
                memcpy(escaped + used, p, step);
                used += step;
                escaped[used] = '\0';
            }
            if (++characters == TEXT_SHOWN_MAX && p + step < end && used + 4 < size)
                used += (size_t)snprintf(escaped + used, size - used, "...");
        }
        p += step;
    }
    return valid;
}

int dl_store_text_check(const char *path, const char *object, const char *description,
                        const char *text, dl_error *err)
{
    char escaped[4 * TEXT_SHOWN_MAX + 8];
    if (dl_store_text_escape(text, escaped, sizeof escaped))
        return 0;
    return dl_error_set(err, "%s: %s: %s '%s' is invalid: text in a results file is UTF-8 "
                        "without control characters", path, object, description, escaped);
}

int dl_store_read_double_attribute(hid_t object, const char *file,
                                   const char *object_name, const char *name,
                                   double *value, dl_error *err)
{
    htri_t exists = H5Aexists(object, name);
    if (exists < 0)
        return dl_store_h5_fail(err, file, object_name,
                                "looking up attribute %s failed", name);
    if (exists == 0)
        return dl_error_set(err, "%s: %s: attribute %s is missing", file,
                            object_name, name);

    hid_t attribute = H5Aopen(object, name, H5P_DEFAULT);
    if (attribute < 0)
        return dl_store_h5_fail(err, file, object_name,
                                "opening attribute %s failed", name);
    hid_t type = H5Aget_type(attribute);
    hid_t space = H5Aget_space(attribute);
    int status = 0;

    H5T_class_t type_class = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    if (type < 0 || space < 0)
        status = dl_store_h5_fail(err, file, object_name,
                                  "reading the type of attribute %s failed",
                                  name);
    else if ((type_class != H5T_INTEGER && type_class != H5T_FLOAT)
             || H5Sget_simple_extent_npoints(space) != 1)
        status = dl_error_set(err, "%s: %s: attribute %s is not a single "
                              "number", file, object_name, name);
    else if (H5Aread(attribute, H5T_NATIVE_DOUBLE, value) < 0)
        status = dl_store_h5_fail(err, file, object_name,
                                  "reading attribute %s failed", name);

    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    H5Aclose(attribute);
    return status;
}

int dl_store_read_int64_attribute(hid_t object, const char *file,
                                  const char *object_name, const char *name,
                                  int64_t *value, dl_error *err)
{
    return attribute_read_integer(object, file, object_name, name,
                                  H5T_NATIVE_INT64, value, err);
}

int dl_store_read_uint64_attribute(hid_t object, const char *file,
                                   const char *object_name, const char *name,
                                   uint64_t *value, dl_error *err)
{
    return attribute_read_integer(object, file, object_name, name,
                                  H5T_NATIVE_UINT64, value, err);
}

/* ---- dimension names ---- */

/* The buffer that scale_name_visit fills. */
typedef struct {
    char *text;
    size_t size;
} scale_name;

/* Stores the name of the first scale attached to a dimension. */
static herr_t scale_name_visit(hid_t dataset, unsigned dim, hid_t scale,
                               void *data)
{
    (void)dataset;
    (void)dim;
    scale_name *name = data;
    if (H5DSget_scale_name(scale, name->text, name->size) < 0)
        return -1;
    return 1;
}

void dl_store_dimension_name(hid_t dataset, unsigned dim, char *name,
                             size_t size, const char *fallback)
{
    snprintf(name, size, "%s", fallback);
    if (H5DSget_num_scales(dataset, dim) <= 0)
        return;
    scale_name visit = {name, size};
    if (H5DSiterate_scales(dataset, dim, NULL, scale_name_visit, &visit) < 0)
        snprintf(name, size, "%s", fallback);
}
