/* utf8.h - validating UTF-8 text.
 *
 * Valid means well-formed as Unicode defines it: no overlong forms, no
 * surrogates (U+D800 to U+DFFF) and no code points above U+10FFFF. The
 * config loader and the results store share this one definition, so a
 * config that passes the loader is never rejected by the store.
 */
#ifndef DRIFTLAB_UTF8_H
#define DRIFTLAB_UTF8_H

#include <stddef.h>

/* Returns the length (1 to 4) of the valid UTF-8 sequence that starts at
 * p, or 0 when the bytes from p up to end do not start one. p < end. */
size_t dl_utf8_sequence_length(const unsigned char *p, const unsigned char *end);

/* Returns the offset of the first byte of text[length] that does not start
 * a valid sequence, or length when the whole text is valid. */
size_t dl_utf8_invalid_offset(const void *text, size_t length);

#endif
