/* Build facts of the compiled core: which package version it was built from and
 * what the linked libcrypto offers.  No policy here; Python decides what to do. */
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core.h"

#ifndef PQE2EE_VERSION
#error "PQE2EE_VERSION must be defined by the build script"
#endif

const char *pqe2ee_core_version(void) { return PQE2EE_VERSION; }

const char *pqe2ee_libcrypto_version(void) { return OpenSSL_version(OPENSSL_VERSION); }

static int has_cipher(const char *name) {
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
    if (c == NULL) {
        return 0;
    }
    EVP_CIPHER_free(c);
    return 1;
}

int pqe2ee_has_chacha20_poly1305(void) { return has_cipher("ChaCha20-Poly1305"); }

int pqe2ee_has_aes_256_gcm(void) { return has_cipher("AES-256-GCM"); }
