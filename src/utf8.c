/* utf8.c - UTF-8 validation; see utf8.h. */
#include "utf8.h"

size_t dl_utf8_sequence_length(const unsigned char *p, const unsigned char *end)
{
    unsigned char lead = p[0];
    unsigned char second_min = 0x80;
    unsigned char second_max = 0xBF;
    size_t length;

    if (lead < 0x80)
        return 1;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0)
            second_min = 0xA0;  /* below is an overlong form */
        else if (lead == 0xED)
            second_max = 0x9F;  /* above are the surrogates */
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0)
            second_min = 0x90;  /* below is an overlong form */
        else if (lead == 0xF4)
            second_max = 0x8F;  /* above is beyond U+10FFFF */
    } else {
        return 0;  /* a continuation byte, 0xC0, 0xC1 or 0xF5 and up */
    }

    if ((size_t)(end - p) < length)
        return 0;
    if (p[1] < second_min || p[1] > second_max)
        return 0;
    for (size_t k = 2; k < length; k++)
        if (p[k] < 0x80 || p[k] > 0xBF)
            return 0;
    return length;
}

size_t dl_utf8_invalid_offset(const void *text, size_t length)
{
    const unsigned char *start = text;
    const unsigned char *end = start + length;
    const unsigned char *p = start;
    while (p < end) {
        size_t sequence = dl_utf8_sequence_length(p, end);
        if (sequence == 0)
            return (size_t)(p - start);
        p += sequence;
    }
    return length;
}
