/* Helpers shared by the core's C files (not part of the cffi interface: this folder is
 * not read by cdef).  Defined in stream.c. */
#ifndef PQE2EE_INTERNAL_AEAD_H
#define PQE2EE_INTERNAL_AEAD_H

#include <stddef.h>
#include <openssl/evp.h>

/* The fetched EVP cipher for a PQE2EE_STREAM_* cipher id, or NULL. */
const EVP_CIPHER *pqe2ee_aead_cipher(int cipher);

/* A context keyed for encryption (enc = 1) or decryption (0), nonce to be set per
 * operation; NULL with *status set (PQE2EE_STREAM_ERR_*) on failure. */
EVP_CIPHER_CTX *pqe2ee_aead_ctx(int cipher, int enc, const unsigned char *key, size_t key_len,
                                int *status);

/* Feed plaintext/ciphertext (out receives as many bytes) or associated data, in pieces
 * that fit EVP's int lengths.  1 on success. */
int pqe2ee_aead_text(EVP_CIPHER_CTX *ctx, int enc, unsigned char *out,
                     const unsigned char *in, size_t len);
int pqe2ee_aead_aad(EVP_CIPHER_CTX *ctx, int enc, const unsigned char *aad, size_t len);

#endif
