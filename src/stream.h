/* stream.h - the random streams of a run, derived from what the run is.
 *
 * Every random number driftlab draws comes from a Philox4x64-10 stream
 * (philox.h) whose 128-bit key is derived from a text message:
 *
 *   key = first 16 bytes of SHA-256(message), read as two little-endian
 *         64-bit words (key[0] from bytes 0-7, key[1] from bytes 8-15)
 *
 * The message names the purpose, the master seed, the seed value and the
 * run's parameters, never its position in the sweep or the thread that ran
 * it, so adding a value to an axis leaves every other run unchanged. Its
 * exact form is built by dl_stream_message and spelled out in
 * docs/random-streams.md. Two purposes exist:
 *
 *   world   the vocabulary, projections and prompt: keyed by the world
 *           parameters only, so every temperature of a seed shares them;
 *   sample  the token choices: keyed by every model parameter.
 *
 * Derived draws: uniform u = (x >> 11) * 2^-53 for the next raw output x
 * (numpy's Generator.random() on the same bit generator gives the same
 * u); standard normal z = sqrt(-2 ln(1 - u1)) * cos(2 pi u2) from two
 * consecutive uniforms (Box-Muller, cosine branch only; 1 - u1 is exact, so ln(1 - u1) is
 * the log of the exact value).
 */
#ifndef DRIFTLAB_STREAM_H
#define DRIFTLAB_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "drift_params.h"
#include "philox.h"

typedef enum {
    DL_STREAM_WORLD = 0,
    DL_STREAM_SAMPLE = 1
} dl_stream_purpose;

typedef struct {
    dl_philox philox;
} dl_stream;

/* Writes the key message of (purpose, master_seed, seed, params) into
 * buffer (NUL-terminated, truncated to capacity) and returns its full
 * length, as snprintf does. */
size_t dl_stream_message(char *buffer, size_t capacity,
                         dl_stream_purpose purpose, uint64_t master_seed,
                         int64_t seed, const dl_drift_params *params);

/* Derives the key of a message as described above. */
void dl_stream_key_of_message(uint64_t key[2], const char *message,
                              size_t length);

/* Starts the stream keyed by an arbitrary message of length bytes (no NUL
 * needed), so other models can build their own messages in the same style.
 * Returns 0, or -1 (stream untouched) when stream is NULL or message is
 * NULL with a non-zero length. */
int dl_stream_init_message(dl_stream *stream, const char *message,
                           size_t length);

/* Starts the stream of (purpose, master_seed, seed, params). Returns 0, or
 * -1 when the message cannot be allocated. */
int dl_stream_init(dl_stream *stream, dl_stream_purpose purpose,
                   uint64_t master_seed, int64_t seed,
                   const dl_drift_params *params);

/* Returns the next uniform double in [0, 1) (53 random bits). */
double dl_stream_uniform(dl_stream *stream);

/* Returns the next standard normal double (uses two uniforms). */
double dl_stream_normal(dl_stream *stream);

#endif
