/* stream.c - key derivation and derived draws; see stream.h. */
#include "stream.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"

#define DL_PI 3.14159265358979323846

/* A growing text buffer that counts what it could not store, so the first
 * pass can size the second. */
typedef struct {
    char *text;
    size_t capacity;
    size_t length;
} message_builder;

__attribute__((format(printf, 2, 3)))
static void append(message_builder *b, const char *fmt, ...)
{
    size_t room = b->length < b->capacity ? b->capacity - b->length : 0;
    va_list args;
    va_start(args, fmt);
    int written = vsnprintf(room > 0 ? b->text + b->length : NULL, room, fmt, args);
    va_end(args);
    if (written > 0)
        b->length += (size_t)written;
}

/* IEEE-754 bits of x as 16 hex digits; -0 is written as +0 so that "0"
 * and "-0" in a config give the same stream. */
static void append_real(message_builder *b, const char *name, double x)
{
    double canonical = x + 0.0;
    uint64_t bits;
    memcpy(&bits, &canonical, sizeof bits);
    append(b, " %s=%016" PRIx64, name, bits);
}

size_t dl_stream_message(char *buffer, size_t capacity,
                         dl_stream_purpose purpose, uint64_t master_seed,
                         int64_t seed, const dl_drift_params *p)
{
    message_builder b = {buffer, capacity, 0};
    if (capacity > 0)
        buffer[0] = '\0';

    append(&b, "driftlab-stream-v1 purpose=%s master_seed=%" PRIu64 " seed=%" PRId64,
           purpose == DL_STREAM_WORLD ? "world" : "sample", master_seed, seed);

    /* world parameters, shared by both purposes */
    append(&b, " clusters=%d tokens_per_cluster=%d d_model=%d d_head=%d projection=%s",
           p->clusters, p->tokens_per_cluster, p->d_model, p->d_head,
           dl_projection_name(p->projection));
    append_real(&b, "cluster_spread", p->cluster_spread);
    append(&b, " prompt_length=%d prompt=", p->prompt_length);
    if (p->prompt == NULL) {
        append(&b, "cycle");
    } else {
        for (int i = 0; i < p->prompt_length; i++)
            append(&b, i == 0 ? "%d" : ",%d", p->prompt[i]);
    }

    if (purpose == DL_STREAM_SAMPLE) {
        append(&b, " rule=%s", dl_rule_name(p->rule));
        append_real(&b, "gain", p->gain);
        append_real(&b, "gain_out", p->gain_out);
        append_real(&b, "temperature", p->temperature);
        append(&b, " top_k=%d", p->top_k);
        append_real(&b, "top_p", p->top_p);
        append_real(&b, "min_p", p->min_p);
        append_real(&b, "repetition_penalty", p->repetition_penalty);
    }
    return b.length;
}

void dl_stream_key_of_message(uint64_t key[2], const char *message,
                              size_t length)
{
    uint8_t digest[32];
    dl_sha256(message, length, digest);
    for (int word = 0; word < 2; word++) {
        uint64_t value = 0;
        for (int byte = 7; byte >= 0; byte--)
            value = (value << 8) | digest[8 * word + byte];
        key[word] = value;
    }
}

int dl_stream_init(dl_stream *stream, dl_stream_purpose purpose,
                   uint64_t master_seed, int64_t seed,
                   const dl_drift_params *params)
{
    char small[512];
    size_t length = dl_stream_message(small, sizeof small, purpose,
                                      master_seed, seed, params);
    char *message = small;
    if (length >= sizeof small) {
        /* long explicit prompts need a heap buffer */
        message = malloc(length + 1);
        if (message == NULL)
            return -1;
        dl_stream_message(message, length + 1, purpose, master_seed, seed, params);
    }

    uint64_t key[2];
    dl_stream_key_of_message(key, message, length);
    dl_philox_init(&stream->philox, key);

    if (message != small)
        free(message);
    return 0;
}

double dl_stream_uniform(dl_stream *stream)
{
    return (double)(dl_philox_next(&stream->philox) >> 11) * 0x1.0p-53;
}

double dl_stream_normal(dl_stream *stream)
{
    double u1 = dl_stream_uniform(stream);
    double u2 = dl_stream_uniform(stream);
    /* 1 - u1 is exact for u1 = k * 2^-53, and never 0 */
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * DL_PI * u2);
}
