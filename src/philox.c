/* philox.c - Philox4x64-10, numpy-compatible; see philox.h.
 *
 * One round on (x0, x1, x2, x3) with keys (k0, k1):
 *   (hi0, lo0) = M0 * x0,  (hi1, lo1) = M1 * x2        (128-bit products)
 *   x' = (hi1 ^ x1 ^ k0, lo1, hi0 ^ x3 ^ k1, lo0)
 * and the keys are bumped by the Weyl constants W0, W1 between rounds.
 */
#include "philox.h"

#define PHILOX_M0 UINT64_C(0xD2E7470EE14C6C93)
#define PHILOX_M1 UINT64_C(0xCA5A826395121157)
#define PHILOX_W0 UINT64_C(0x9E3779B97F4A7C15)
#define PHILOX_W1 UINT64_C(0xBB67AE8584CAA73B)
#define PHILOX_ROUNDS 10

static void multiply_wide(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    unsigned __int128 product = (unsigned __int128)a * b;
    *hi = (uint64_t)(product >> 64);
    *lo = (uint64_t)product;
}

void dl_philox_block(uint64_t out[4], const uint64_t counter[4],
                     const uint64_t key[2])
{
    uint64_t x0 = counter[0], x1 = counter[1], x2 = counter[2], x3 = counter[3];
    uint64_t k0 = key[0], k1 = key[1];

    for (int round = 0; round < PHILOX_ROUNDS; round++) {
        uint64_t hi0, lo0, hi1, lo1;
        multiply_wide(PHILOX_M0, x0, &hi0, &lo0);
        multiply_wide(PHILOX_M1, x2, &hi1, &lo1);
        x0 = hi1 ^ x1 ^ k0;
        x1 = lo1;
        x2 = hi0 ^ x3 ^ k1;
        x3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }

    out[0] = x0;
    out[1] = x1;
    out[2] = x2;
    out[3] = x3;
}

void dl_philox_init(dl_philox *stream, const uint64_t key[2])
{
    for (int i = 0; i < 4; i++) {
        stream->counter[i] = 0;
        stream->buffer[i] = 0;
    }
    stream->key[0] = key[0];
    stream->key[1] = key[1];
    stream->buffer_position = 4;
}

uint64_t dl_philox_next(dl_philox *stream)
{
    if (stream->buffer_position < 4)
        return stream->buffer[stream->buffer_position++];

    /* increment the 256-bit counter, carrying into the higher words */
    for (int i = 0; i < 4; i++) {
        stream->counter[i]++;
        if (stream->counter[i] != 0)
            break;
    }

    dl_philox_block(stream->buffer, stream->counter, stream->key);
    stream->buffer_position = 1;
    return stream->buffer[0];
}
