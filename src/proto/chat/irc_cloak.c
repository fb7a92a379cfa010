/* irc_cloak.c - the keyed hash that stands for a client's address when
 * cloak_hosts is on. Pure: no state, unit-tested.
 *
 * Keyed, not a plain hash: IPv4 has few enough addresses that an unkeyed
 * hash of one could be reversed by hashing them all. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "proto/chat/irc.h"

bool irc_cloak(const char *secret, const char *addr, char *out, size_t cap)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)addr,
              strlen(addr), md, &len) || len < 8) {
        snprintf(out, cap, "unknown.cloak");
        return false;
    }
    snprintf(out, cap, "%02x%02x%02x%02x.%02x%02x%02x%02x.cloak", md[0], md[1], md[2], md[3],
             md[4], md[5], md[6], md[7]);
    return true;
}
