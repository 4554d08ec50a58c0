/* digest.c - SHA-256 through OpenSSL; see digest.h. */
#include "digest.h"

#include <openssl/evp.h>
#include <stdio.h>

int dl_sha256(const void *data, size_t length, uint8_t digest[32])
{
    unsigned int digest_length = 0;
    if (EVP_Digest(data, length, digest, &digest_length, EVP_sha256(), NULL) != 1
        || digest_length != 32)
        return -1;
    return 0;
}

int dl_sha256_hex(const void *data, size_t length, char hex[65])
{
    uint8_t digest[32];
    if (dl_sha256(data, length, digest) != 0)
        return -1;
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return 0;
}
