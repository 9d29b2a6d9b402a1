/* The session record layer in bulk: many records sealed or opened per call over one
 * EVP_CIPHER_CTX (key set once, a new nonce per record), so a large send or a full
 * socket buffer costs one call and no per-record allocation.  No policy here: Python
 * decides when to rekey, what the inner types mean, and what a failure means. */
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "records.h"
#include "stream.h"
#include "internal/aead.h"
#include "internal/records.h"

/* Short names for the sizes of stream.h and records.h. */
#define IV_LEN PQE2EE_AEAD_NONCE_SIZE
#define TAG_LEN PQE2EE_AEAD_TAG_SIZE
#define HEADER_LEN PQE2EE_RECORD_HEADER_SIZE
#define CT_ENCRYPTED PQE2EE_RECORD_CT_ENCRYPTED
#define INNER_DATA PQE2EE_RECORD_INNER_DATA
#define MAX_RECORD ((size_t)PQE2EE_RECORD_MAX_PLAINTEXT)
#define OVERHEAD PQE2EE_RECORD_OVERHEAD

/* records.h states its sizes as plain numbers (cffi's cdef reads them); hold them to the
 * format they describe. */
_Static_assert(PQE2EE_RECORD_OVERHEAD == HEADER_LEN + 1 + TAG_LEN, "header, type, tag");
_Static_assert(PQE2EE_RECORD_MIN_FRAME == 1 + TAG_LEN, "inner type and tag");
_Static_assert(PQE2EE_RECORD_MAX_FRAME == PQE2EE_RECORD_MAX_PLAINTEXT + 256, "2^16 + 256");

static void record_nonce(const unsigned char *iv, unsigned long long seq,
                         unsigned char nonce[IV_LEN]) {
    memcpy(nonce, iv, IV_LEN);
    for (int i = 0; i < 8; i++) {
        nonce[IV_LEN - 1 - i] ^= (unsigned char)(seq >> (8 * i));
    }
}

int pqe2ee_record_seal_one(EVP_CIPHER_CTX *ctx, const unsigned char *iv, unsigned long long seq,
                           unsigned char inner_type, const unsigned char *in, size_t len,
                           unsigned char *out) {
    size_t body = len + 1 + TAG_LEN;
    unsigned char nonce[IV_LEN];
    unsigned char fin[TAG_LEN];
    int finl = 0;
    out[0] = CT_ENCRYPTED;
    out[1] = (unsigned char)(body >> 16);
    out[2] = (unsigned char)(body >> 8);
    out[3] = (unsigned char)body;
    record_nonce(iv, seq, nonce);
    return EVP_EncryptInit_ex2(ctx, NULL, NULL, nonce, NULL) == 1 &&
           pqe2ee_aead_aad(ctx, 1, out, HEADER_LEN) &&
           pqe2ee_aead_text(ctx, 1, out + HEADER_LEN, in, len) &&
           pqe2ee_aead_text(ctx, 1, out + HEADER_LEN + len, &inner_type, 1) &&
           EVP_EncryptFinal_ex(ctx, fin, &finl) == 1 && finl == 0 &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, out + HEADER_LEN + len + 1) ==
               1;
}

int pqe2ee_record_open_one(EVP_CIPHER_CTX *ctx, const unsigned char *iv, unsigned long long seq,
                           const unsigned char *frame, size_t body, unsigned char *dst) {
    size_t text = body - TAG_LEN;
    unsigned char nonce[IV_LEN];
    unsigned char tag[TAG_LEN];
    unsigned char fin[TAG_LEN];
    int finl = 0;
    record_nonce(iv, seq, nonce);
    memcpy(tag, frame + HEADER_LEN + text, TAG_LEN);
    if (EVP_DecryptInit_ex2(ctx, NULL, NULL, nonce, NULL) != 1 ||
        !pqe2ee_aead_aad(ctx, 0, frame, HEADER_LEN) ||
        !pqe2ee_aead_text(ctx, 0, dst, frame + HEADER_LEN, text) ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) != 1) {
        OPENSSL_cleanse(dst, text);
        return PQE2EE_STREAM_ERR_OPENSSL;
    }
    if (EVP_DecryptFinal_ex(ctx, fin, &finl) != 1) {
        /* OpenSSL wrote plaintext before it checked the tag: none of it may stay. */
        OPENSSL_cleanse(dst, text);
        ERR_clear_error();
        return PQE2EE_STREAM_ERR_TAG;
    }
    return PQE2EE_STREAM_OK;
}

static EVP_CIPHER_CTX *keyed_ctx(int cipher, int enc, const unsigned char *key, size_t key_len,
                                 const unsigned char *iv, size_t iv_len, int *status) {
    if (iv == NULL || iv_len != IV_LEN) {
        *status = PQE2EE_STREAM_ERR_LENGTH;
        return NULL;
    }
    return pqe2ee_aead_ctx(cipher, enc, key, key_len, status);
}

int pqe2ee_records_seal(int cipher, const unsigned char *key, size_t key_len,
                        const unsigned char *iv, size_t iv_len, unsigned long long first_seq,
                        int inner_type, size_t record_size,
                        const unsigned char *in, size_t in_len,
                        unsigned char *out, size_t out_len) {
    size_t n, done = 0;
    int status;
    EVP_CIPHER_CTX *ctx;
    unsigned char type_byte = (unsigned char)inner_type;
    if (record_size == 0 || record_size > MAX_RECORD || inner_type < 0 || inner_type > 255 ||
        (in_len > 0 && in == NULL) || out == NULL) {
        return PQE2EE_STREAM_ERR_LENGTH;
    }
    n = in_len == 0 ? 1 : (in_len - 1) / record_size + 1;
    if (n > (SIZE_MAX - in_len) / OVERHEAD || out_len != in_len + n * OVERHEAD) {
        return PQE2EE_STREAM_ERR_LENGTH;
    }
    if (first_seq + (n - 1) < first_seq) {
        return PQE2EE_STREAM_ERR_COUNTER;
    }
    ctx = keyed_ctx(cipher, 1, key, key_len, iv, iv_len, &status);
    if (ctx == NULL) {
        return status;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = in_len - done < record_size ? in_len - done : record_size;
        if (!pqe2ee_record_seal_one(ctx, iv, first_seq + i, type_byte, in + done, len, out)) {
            status = PQE2EE_STREAM_ERR_OPENSSL;
            break;
        }
        done += len;
        out += len + OVERHEAD;
    }
    EVP_CIPHER_CTX_free(ctx);
    return status;
}

int pqe2ee_records_open(int cipher, const unsigned char *key, size_t key_len,
                        const unsigned char *iv, size_t iv_len, unsigned long long first_seq,
                        size_t max_frame, const unsigned char *in, size_t in_len,
                        unsigned char *out, size_t out_len,
                        size_t *consumed, size_t *produced, unsigned long long *n_records,
                        int *control_type, size_t *control_len) {
    int status;
    EVP_CIPHER_CTX *ctx;
    if (consumed == NULL || produced == NULL || n_records == NULL || control_type == NULL ||
        control_len == NULL) {
        return PQE2EE_STREAM_ERR_LENGTH;
    }
    *consumed = *produced = *control_len = 0;
    *n_records = 0;
    *control_type = 0;
    if ((in_len > 0 && in == NULL) || (out_len > 0 && out == NULL)) {
        return PQE2EE_STREAM_ERR_LENGTH;
    }
    ctx = keyed_ctx(cipher, 0, key, key_len, iv, iv_len, &status);
    if (ctx == NULL) {
        return status;
    }
    while (in_len - *consumed >= HEADER_LEN) {
        const unsigned char *frame = in + *consumed;
        size_t body, text;
        unsigned char *dst = out + *produced;
        if (frame[0] != CT_ENCRYPTED) {
            break;
        }
        body = ((size_t)frame[1] << 16) | ((size_t)frame[2] << 8) | frame[3];
        if (body < PQE2EE_RECORD_MIN_FRAME || body > max_frame) {
            status = PQE2EE_STREAM_ERR_LENGTH;
            break;
        }
        if (in_len - *consumed - HEADER_LEN < body) {
            break; /* incomplete: wait for more */
        }
        text = body - TAG_LEN;
        if (out_len - *produced < text) {
            break; /* no room: the caller comes back with a fresh buffer */
        }
        if (first_seq + *n_records < first_seq) {
            status = PQE2EE_STREAM_ERR_COUNTER;
            break;
        }
        status = pqe2ee_record_open_one(ctx, iv, first_seq + *n_records, frame, body, dst);
        if (status != PQE2EE_STREAM_OK) {
            break;
        }
        if (dst[text - 1] == 0) {
            /* 0 is what *control_type says when there is no control record, so a record
             * of inner type 0 is left unopened (and wiped) for the caller's one-record
             * path, which rejects the unknown type; consuming it here made it vanish. */
            OPENSSL_cleanse(dst, text);
            break;
        }
        *consumed += HEADER_LEN + body;
        *n_records += 1;
        if (dst[text - 1] != INNER_DATA) {
            *control_type = dst[text - 1];
            *control_len = text - 1;
            break;
        }
        *produced += text - 1;
    }
    EVP_CIPHER_CTX_free(ctx);
    return status;
}
