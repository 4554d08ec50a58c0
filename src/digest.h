/* digest.h - SHA-256 through OpenSSL's EVP interface. */
#ifndef DRIFTLAB_DIGEST_H
#define DRIFTLAB_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/* Computes the SHA-256 of data[0..length-1] into digest. Returns 0, or -1
 * when OpenSSL fails (it does not for in-memory input in practice). */
int dl_sha256(const void *data, size_t length, uint8_t digest[32]);

/* Like dl_sha256, writing 64 lowercase hex digits and a NUL into hex. */
int dl_sha256_hex(const void *data, size_t length, char hex[65]);

#endif
