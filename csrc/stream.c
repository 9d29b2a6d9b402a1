/* Bulk AEAD for the STREAM payload format: whole runs of chunks in one call, over
 * OpenSSL's EVP AEADs.  No cipher is implemented here; no policy is decided here.
 *
 * One EVP_CIPHER_CTX serves a whole call: the key is set once and each chunk only sets a
 * new nonce, so the hot loop allocates nothing.  Freeing the context makes OpenSSL wipe
 * its key schedule; this file keeps no other copy of the key. */
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "stream.h"
#include "internal/aead.h"

/* Short names for the sizes of stream.h. */
#define KEY_LEN PQE2EE_AEAD_KEY_SIZE
#define TAG_LEN PQE2EE_AEAD_TAG_SIZE
#define NONCE_LEN PQE2EE_AEAD_NONCE_SIZE
#define COUNTER_LEN PQE2EE_STREAM_COUNTER_SIZE
_Static_assert(COUNTER_LEN + 1 == NONCE_LEN, "the nonce is counter || final flag");
/* EVP_*Update take an int length: feed larger buffers in pieces of this size. */
#define PIECE ((size_t)1 << 30)

/* Fetching a cipher walks OpenSSL's method store under a lock: do it once per process. */
static CRYPTO_ONCE fetch_once = CRYPTO_ONCE_STATIC_INIT;
static EVP_CIPHER *chacha20_poly1305;
static EVP_CIPHER *aes_256_gcm;

static void fetch_ciphers(void) {
    chacha20_poly1305 = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
    aes_256_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    ERR_clear_error();
}

const EVP_CIPHER *pqe2ee_aead_cipher(int cipher) {
    if (!CRYPTO_THREAD_run_once(&fetch_once, fetch_ciphers)) {
        return NULL;
    }
    switch (cipher) {
    case PQE2EE_STREAM_CHACHA20_POLY1305:
        return chacha20_poly1305;
    case PQE2EE_STREAM_AES_256_GCM:
        return aes_256_gcm;
    default:
        return NULL;
    }
}

/* Add `add` to the 11-byte big-endian counter; 0 when the sum does not fit in 88 bits. */
static int counter_add(unsigned char counter[COUNTER_LEN], size_t add) {
    size_t carry = add;
    for (int i = COUNTER_LEN - 1; i >= 0; i--) {
        unsigned int sum = (unsigned int)(carry & 0xff) + counter[i];
        counter[i] = (unsigned char)(sum & 0xff);
        carry = (carry >> 8) + (sum >> 8);
    }
    return carry == 0;
}

int pqe2ee_aead_text(EVP_CIPHER_CTX *ctx, int enc, unsigned char *out,
                    const unsigned char *in, size_t len) {
    while (len > 0) {
        int n = (int)(len > PIECE ? PIECE : len);
        int outl = 0;
        int ok = enc ? EVP_EncryptUpdate(ctx, out, &outl, in, n)
                     : EVP_DecryptUpdate(ctx, out, &outl, in, n);
        if (ok != 1 || outl != n) {
            return 0;
        }
        in += n;
        out += n;
        len -= (size_t)n;
    }
    return 1;
}

int pqe2ee_aead_aad(EVP_CIPHER_CTX *ctx, int enc, const unsigned char *aad, size_t len) {
    while (len > 0) {
        int n = (int)(len > PIECE ? PIECE : len);
        int outl = 0;
        int ok = enc ? EVP_EncryptUpdate(ctx, NULL, &outl, aad, n)
                     : EVP_DecryptUpdate(ctx, NULL, &outl, aad, n);
        if (ok != 1) {
            return 0;
        }
        aad += n;
        len -= (size_t)n;
    }
    return 1;
}

/* Seal one chunk: out receives len bytes of ciphertext followed by the tag. */
static int seal_chunk(EVP_CIPHER_CTX *ctx, const unsigned char nonce[NONCE_LEN],
                      const unsigned char *aad, size_t aad_len,
                      const unsigned char *in, size_t len, unsigned char *out) {
    unsigned char fin[TAG_LEN];
    int finl = 0;
    if (EVP_EncryptInit_ex2(ctx, NULL, NULL, nonce, NULL) != 1) {
        return 0;
    }
    if (!pqe2ee_aead_aad(ctx, 1, aad, aad_len) || !pqe2ee_aead_text(ctx, 1, out, in, len)) {
        return 0;
    }
    if (EVP_EncryptFinal_ex(ctx, fin, &finl) != 1 || finl != 0) {
        return 0;
    }
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, out + len) == 1;
}

/* Open one chunk (len bytes of ciphertext, then the tag at tag).  Returns OK, ERR_TAG
 * or ERR_OPENSSL; on anything but OK the len bytes of out are wiped, because OpenSSL
 * writes plaintext before it has checked the tag. */
static int open_chunk(EVP_CIPHER_CTX *ctx, const unsigned char nonce[NONCE_LEN],
                      const unsigned char *aad, size_t aad_len,
                      const unsigned char *in, size_t len, const unsigned char *tag,
                      unsigned char *out) {
    unsigned char fin[TAG_LEN];
    unsigned char tag_copy[TAG_LEN];
    int finl = 0;
    memcpy(tag_copy, tag, TAG_LEN);
    if (EVP_DecryptInit_ex2(ctx, NULL, NULL, nonce, NULL) != 1 ||
        !pqe2ee_aead_aad(ctx, 0, aad, aad_len) || !pqe2ee_aead_text(ctx, 0, out, in, len) ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag_copy) != 1) {
        if (len > 0) {
            OPENSSL_cleanse(out, len);
        }
        return PQE2EE_STREAM_ERR_OPENSSL;
    }
    if (EVP_DecryptFinal_ex(ctx, fin, &finl) != 1) {
        if (len > 0) {
            OPENSSL_cleanse(out, len);
        }
        /* A bad tag is an answer, not an error: leave no trace in the error queue. */
        ERR_clear_error();
        return PQE2EE_STREAM_ERR_TAG;
    }
    return PQE2EE_STREAM_OK;
}

/* Check a run's plaintext geometry: n chunks, all full but the last (1..chunk_size bytes,
 * or 0 for a lone chunk).  On success *last_len is the last chunk's plaintext length. */
static int run_geometry(size_t n_chunks, size_t chunk_size, size_t pt_len, size_t *last_len) {
    size_t head;
    if (n_chunks == 0 || chunk_size == 0) {
        return 0;
    }
    if (n_chunks - 1 > SIZE_MAX / chunk_size) {
        return 0;
    }
    head = (n_chunks - 1) * chunk_size;
    if (pt_len < head || pt_len - head > chunk_size) {
        return 0;
    }
    *last_len = pt_len - head;
    return *last_len > 0 || n_chunks == 1;
}

/* Shared checks of seal and open; returns OK or the status to give back. */
static int run_checks(int cipher, const unsigned char *key, size_t key_len,
                      const unsigned char *first_counter, size_t counter_len,
                      size_t n_chunks, unsigned char counter[COUNTER_LEN],
                      const EVP_CIPHER **evp) {
    unsigned char last[COUNTER_LEN];
    if (key == NULL || key_len != KEY_LEN || first_counter == NULL ||
        counter_len != COUNTER_LEN || n_chunks == 0) {
        return PQE2EE_STREAM_ERR_LENGTH;
    }
    *evp = pqe2ee_aead_cipher(cipher);
    if (*evp == NULL) {
        return PQE2EE_STREAM_ERR_CIPHER;
    }
    memcpy(counter, first_counter, COUNTER_LEN);
    /* Refuse the whole run up front rather than wrap the counter part way through. */
    memcpy(last, counter, COUNTER_LEN);
    if (!counter_add(last, n_chunks - 1)) {
        return PQE2EE_STREAM_ERR_COUNTER;
    }
    return PQE2EE_STREAM_OK;
}

int pqe2ee_stream_seal(int cipher, const unsigned char *key, size_t key_len,
                       const unsigned char *first_counter, size_t counter_len,
                       size_t n_chunks, int last_is_final, size_t chunk_size,
                       const unsigned char *in, size_t in_len,
                       unsigned char *out, size_t out_len) {
    const EVP_CIPHER *evp = NULL;
    EVP_CIPHER_CTX *ctx;
    unsigned char nonce[NONCE_LEN];
    size_t last_len = 0;
    int status = run_checks(cipher, key, key_len, first_counter, counter_len, n_chunks,
                            nonce, &evp);
    if (status != PQE2EE_STREAM_OK) {
        return status;
    }
    if (!run_geometry(n_chunks, chunk_size, in_len, &last_len) ||
        n_chunks > (SIZE_MAX - in_len) / TAG_LEN || out_len != in_len + n_chunks * TAG_LEN ||
        (in_len > 0 && in == NULL) || out == NULL) {
        return PQE2EE_STREAM_ERR_LENGTH;
    }
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return PQE2EE_STREAM_ERR_OPENSSL;
    }
    if (EVP_EncryptInit_ex2(ctx, evp, key, NULL, NULL) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return PQE2EE_STREAM_ERR_OPENSSL;
    }
    for (size_t i = 0; i < n_chunks; i++) {
        int last = i == n_chunks - 1;
        size_t len = last ? last_len : chunk_size;
        if (i > 0) {
            counter_add(nonce, 1); /* cannot wrap: checked for the whole run above */
        }
        nonce[COUNTER_LEN] = (last && last_is_final) ? 0x01 : 0x00;
        if (!seal_chunk(ctx, nonce, NULL, 0, in, len, out)) {
            status = PQE2EE_STREAM_ERR_OPENSSL;
            break;
        }
        in += len;
        out += len + TAG_LEN;
    }
    EVP_CIPHER_CTX_free(ctx);
    return status;
}

int pqe2ee_stream_open(int cipher, const unsigned char *key, size_t key_len,
                       const unsigned char *first_counter, size_t counter_len,
                       size_t n_chunks, int last_is_final, size_t chunk_size,
                       const unsigned char *in, size_t in_len,
                       unsigned char *out, size_t out_len, size_t *n_opened) {
    const EVP_CIPHER *evp = NULL;
    EVP_CIPHER_CTX *ctx;
    unsigned char nonce[NONCE_LEN];
    size_t last_len = 0;
    int status;
    if (n_opened == NULL) {
        return PQE2EE_STREAM_ERR_LENGTH;
    }
    *n_opened = 0;
    status = run_checks(cipher, key, key_len, first_counter, counter_len, n_chunks, nonce,
                        &evp);
    if (status != PQE2EE_STREAM_OK) {
        return status;
    }
    if (n_chunks > in_len / TAG_LEN ||
        !run_geometry(n_chunks, chunk_size, in_len - n_chunks * TAG_LEN, &last_len) ||
        out_len != in_len - n_chunks * TAG_LEN || in == NULL || (out_len > 0 && out == NULL)) {
        return PQE2EE_STREAM_ERR_LENGTH;
    }
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return PQE2EE_STREAM_ERR_OPENSSL;
    }
    if (EVP_DecryptInit_ex2(ctx, evp, key, NULL, NULL) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return PQE2EE_STREAM_ERR_OPENSSL;
    }
    for (size_t i = 0; i < n_chunks; i++) {
        int last = i == n_chunks - 1;
        size_t len = last ? last_len : chunk_size;
        if (i > 0) {
            counter_add(nonce, 1); /* cannot wrap: checked for the whole run above */
        }
        nonce[COUNTER_LEN] = (last && last_is_final) ? 0x01 : 0x00;
        status = open_chunk(ctx, nonce, NULL, 0, in, len, in + len, out);
        if (status != PQE2EE_STREAM_OK) {
            break;
        }
        *n_opened = i + 1;
        in += len + TAG_LEN;
        out += len;
    }
    EVP_CIPHER_CTX_free(ctx);
    return status;
}

EVP_CIPHER_CTX *pqe2ee_aead_ctx(int cipher, int enc, const unsigned char *key, size_t key_len,
                                int *status) {
    const EVP_CIPHER *evp;
    EVP_CIPHER_CTX *ctx;
    if (key == NULL || key_len != KEY_LEN) {
        *status = PQE2EE_STREAM_ERR_LENGTH;
        return NULL;
    }
    evp = pqe2ee_aead_cipher(cipher);
    if (evp == NULL) {
        *status = PQE2EE_STREAM_ERR_CIPHER;
        return NULL;
    }
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL || EVP_CipherInit_ex2(ctx, evp, key, NULL, enc, NULL) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        *status = PQE2EE_STREAM_ERR_OPENSSL;
        return NULL;
    }
    *status = PQE2EE_STREAM_OK;
    return ctx;
}

/* Set up a context for a single operation; NULL (with *status set) on failure. */
static EVP_CIPHER_CTX *one_ctx(int cipher, int enc, const unsigned char *key, size_t key_len,
                               const unsigned char *nonce, size_t nonce_len,
                               const unsigned char *aad, size_t aad_len, int *status) {
    if (nonce == NULL || nonce_len != NONCE_LEN || (aad_len > 0 && aad == NULL)) {
        *status = PQE2EE_STREAM_ERR_LENGTH;
        return NULL;
    }
    return pqe2ee_aead_ctx(cipher, enc, key, key_len, status);
}

int pqe2ee_stream_seal_one(int cipher, const unsigned char *key, size_t key_len,
                           const unsigned char *nonce, size_t nonce_len,
                           const unsigned char *aad, size_t aad_len,
                           const unsigned char *in, size_t in_len,
                           unsigned char *out, size_t out_len) {
    int status;
    EVP_CIPHER_CTX *ctx;
    if (in_len > SIZE_MAX - TAG_LEN || out_len != in_len + TAG_LEN ||
        (in_len > 0 && in == NULL) || out == NULL) {
        return PQE2EE_STREAM_ERR_LENGTH;
    }
    ctx = one_ctx(cipher, 1, key, key_len, nonce, nonce_len, aad, aad_len, &status);
    if (ctx == NULL) {
        return status;
    }
    if (!seal_chunk(ctx, nonce, aad, aad_len, in, in_len, out)) {
        status = PQE2EE_STREAM_ERR_OPENSSL;
    }
    EVP_CIPHER_CTX_free(ctx);
    return status;
}

int pqe2ee_stream_open_one(int cipher, const unsigned char *key, size_t key_len,
                           const unsigned char *nonce, size_t nonce_len,
                           const unsigned char *aad, size_t aad_len,
                           const unsigned char *in, size_t in_len,
                           unsigned char *out, size_t out_len) {
    int status;
    EVP_CIPHER_CTX *ctx;
    if (in_len < TAG_LEN || out_len != in_len - TAG_LEN || in == NULL ||
        (out_len > 0 && out == NULL)) {
        return PQE2EE_STREAM_ERR_LENGTH;
    }
    ctx = one_ctx(cipher, 0, key, key_len, nonce, nonce_len, aad, aad_len, &status);
    if (ctx == NULL) {
        return status;
    }
    status = open_chunk(ctx, nonce, aad, aad_len, in, out_len, in + out_len, out);
    EVP_CIPHER_CTX_free(ctx);
    return status;
}

void pqe2ee_stream_cleanse(unsigned char *buf, size_t len) {
    if (buf != NULL && len > 0) {
        OPENSSL_cleanse(buf, len);
    }
}

int pqe2ee_stream_drain_errors(char *buf, size_t buf_len) {
    unsigned long code = ERR_get_error();
    if (buf != NULL && buf_len > 0) {
        buf[0] = '\0';
        if (code != 0) {
            ERR_error_string_n(code, buf, buf_len);
        }
    }
    ERR_clear_error();
    return code != 0;
}
