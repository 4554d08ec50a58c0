/* store_internal.h - HDF5 helpers shared by store.c and store_info.c.
 *
 * Only the two store sources include this header, so HDF5 stays inside the
 * store module. The helpers turn HDF5 failures into dl_error messages that
 * name the file and the object ("results.h5.partial: /drift/tokens: ...")
 * and add the innermost reason from HDF5's error stack, which the store
 * keeps from printing to stderr.
 */
#ifndef DRIFTLAB_STORE_INTERNAL_H
#define DRIFTLAB_STORE_INTERNAL_H

#include <stdint.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "error.h"

/* Version of the results.h5 layout, stored as the root attribute
 * format_version. Raise it when a reader of the old layout would misread
 * the new one. */
#define DL_STORE_FORMAT_VERSION 1

/* Stops HDF5 from printing its error stack to stderr. The store reports
 * every failure itself through dl_error. */
void dl_store_h5_silence(void);

/* Formats "FILE: OBJECT: MESSAGE (HDF5: REASON)" into err, where REASON is
 * the innermost entry of the current HDF5 error stack (left out when the
 * stack is empty), and clears that stack. Call it right after the failing
 * HDF5 call, before any other HDF5 call replaces the stack. Returns -1. */
int dl_store_h5_fail(dl_error *err, const char *file, const char *object,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reads the variable-length string attribute name of object into a new
 * NUL-terminated string that the caller frees with free(). Fails with err
 * naming file, object and attribute when the attribute is missing or is
 * not a variable-length string. */
int dl_store_read_string_attribute(hid_t object, const char *file,
                                   const char *object_name, const char *name,
                                   char **value, dl_error *err);

/* Reads the scalar integer attribute name of object, converted to int64.
 * Fails with err when it is missing or not a scalar integer. */
int dl_store_read_int64_attribute(hid_t object, const char *file,
                                  const char *object_name, const char *name,
                                  int64_t *value, dl_error *err);

/* Like dl_store_read_int64_attribute, converted to uint64. */
int dl_store_read_uint64_attribute(hid_t object, const char *file,
                                   const char *object_name, const char *name,
                                   uint64_t *value, dl_error *err);

#endif
