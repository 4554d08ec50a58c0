/* stream_message.h - building the key message of a random stream.
 *
 * Every stream key is the SHA-256 of a one-line text message (see
 * stream.h). The drift and LoRA models build their messages with these
 * helpers so that every field is written the same way: integers in
 * decimal, reals as the 16 hex digits of their IEEE-754 bits with -0
 * written as +0.
 */
#ifndef DRIFTLAB_STREAM_MESSAGE_H
#define DRIFTLAB_STREAM_MESSAGE_H

#include <stddef.h>

/* A text buffer that keeps counting past its capacity, so that length is
 * the full length of the message even when text was too short for it. */
typedef struct {
    char *text;      /* NUL-terminated while length < capacity */
    size_t capacity;
    size_t length;
} dl_stream_message_text;

/* Starts an empty message in buffer[capacity] (capacity may be 0). */
dl_stream_message_text dl_stream_message_start(char *buffer, size_t capacity);

/* Appends printf-formatted text. */
void dl_stream_message_append(dl_stream_message_text *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends " NAME=BITS" with the IEEE-754 bits of x as 16 hex digits. */
void dl_stream_message_append_real(dl_stream_message_text *m, const char *name,
                                   double x);

#endif
