/* stream_message.c - key message building; see stream_message.h. */
#include "stream_message.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

dl_stream_message_text dl_stream_message_start(char *buffer, size_t capacity)
{
    dl_stream_message_text m = {buffer, capacity, 0};
    if (capacity > 0)
        buffer[0] = '\0';
    return m;
}

void dl_stream_message_append(dl_stream_message_text *m, const char *fmt, ...)
{
    size_t room = m->length < m->capacity ? m->capacity - m->length : 0;
    va_list args;
    va_start(args, fmt);
    int written = vsnprintf(room > 0 ? m->text + m->length : NULL, room, fmt, args);
    va_end(args);
    if (written > 0)
        m->length += (size_t)written;
}

void dl_stream_message_append_real(dl_stream_message_text *m, const char *name,
                                   double x)
{
    /* "0" and "-0" in a config must give the same stream */
    double canonical = x + 0.0;
    uint64_t bits;
    memcpy(&bits, &canonical, sizeof bits);
    dl_stream_message_append(m, " %s=%016" PRIx64, name, bits);
}
