/* philox.h - the Philox4x64-10 counter-based generator, bit-compatible
 * with numpy.random.Philox.
 *
 * Philox4x64-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
 * 3", SC 2011) maps a 256-bit counter and a 128-bit key to 256 random bits
 * with ten rounds of two 64x64->128-bit multiplications. The stream below
 * follows numpy's bit generator exactly: the state holds a counter, a key
 * and a buffer of four outputs; when the buffer is used up the counter is
 * incremented first (as a 256-bit little-endian integer, word 0 lowest)
 * and the block of the new counter refills the buffer. So a stream built
 * with counter 0 starts with the block of counter 1, as
 * numpy.random.Philox(key=..., counter=0).random_raw() does.
 */
#ifndef DRIFTLAB_PHILOX_H
#define DRIFTLAB_PHILOX_H

#include <stdint.h>

typedef struct {
    uint64_t counter[4];
    uint64_t key[2];
    uint64_t buffer[4];
    int buffer_position; /* 4: the buffer is used up */
} dl_philox;

/* One Philox4x64-10 block: out = philox(counter, key). */
void dl_philox_block(uint64_t out[4], const uint64_t counter[4],
                     const uint64_t key[2]);

/* Starts a stream at counter 0 with the given key. */
void dl_philox_init(dl_philox *stream, const uint64_t key[2]);

/* Returns the next 64-bit output, as numpy's random_raw() would. */
uint64_t dl_philox_next(dl_philox *stream);

#endif
