/* stream.c - key derivation and derived draws; see stream.h. */
#include "stream.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "stream_message.h"

#define DL_PI 3.14159265358979323846

size_t dl_stream_message(char *buffer, size_t capacity,
                         dl_stream_purpose purpose, uint64_t master_seed,
                         int64_t seed, const dl_drift_params *p)
{
    dl_stream_message_text b = dl_stream_message_start(buffer, capacity);

    dl_stream_message_append(&b, "driftlab-stream-v1 purpose=%s master_seed=%" PRIu64 " seed=%" PRId64,
           purpose == DL_STREAM_WORLD ? "world" : "sample", master_seed, seed);

    /* world parameters, shared by both purposes */
    dl_stream_message_append(&b, " clusters=%d tokens_per_cluster=%d d_model=%d d_head=%d projection=%s",
           p->clusters, p->tokens_per_cluster, p->d_model, p->d_head,
           dl_projection_name(p->projection));
    dl_stream_message_append_real(&b, "cluster_spread", p->cluster_spread);
    dl_stream_message_append(&b, " prompt_length=%d prompt=", p->prompt_length);
    if (p->prompt == NULL) {
        dl_stream_message_append(&b, "cycle");
    } else {
        for (int i = 0; i < p->prompt_length; i++)
            dl_stream_message_append(&b, i == 0 ? "%d" : ",%d", p->prompt[i]);
    }

    if (purpose == DL_STREAM_SAMPLE) {
        dl_stream_message_append(&b, " rule=%s", dl_rule_name(p->rule));
        dl_stream_message_append_real(&b, "gain", p->gain);
        dl_stream_message_append_real(&b, "gain_out", p->gain_out);
        dl_stream_message_append_real(&b, "temperature", p->temperature);
        dl_stream_message_append(&b, " top_k=%d", p->top_k);
        dl_stream_message_append_real(&b, "top_p", p->top_p);
        dl_stream_message_append_real(&b, "min_p", p->min_p);
        dl_stream_message_append_real(&b, "repetition_penalty", p->repetition_penalty);
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

int dl_stream_init_message(dl_stream *stream, const char *message,
                           size_t length)
{
    if (stream == NULL || (message == NULL && length > 0))
        return -1;

    uint64_t key[2];
    dl_stream_key_of_message(key, length > 0 ? message : "", length);
    dl_philox_init(&stream->philox, key);
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
