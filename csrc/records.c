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
#define MAX_INNER ((size_t)PQE2EE_RECORD_MAX_INNER)

/* records.h states its sizes as plain numbers (cffi's cdef reads them); hold them to the
 * format they describe. */
_Static_assert(PQE2EE_RECORD_OVERHEAD == HEADER_LEN + 1 + TAG_LEN, "header, type, tag");
_Static_assert(PQE2EE_RECORD_MIN_FRAME == 1 + TAG_LEN, "inner type and tag");
_Static_assert(PQE2EE_RECORD_MAX_FRAME == PQE2EE_RECORD_MAX_PLAINTEXT + 256, "2^16 + 256");
_Static_assert(PQE2EE_RECORD_MAX_INNER == PQE2EE_RECORD_MAX_FRAME - TAG_LEN, "frame less tag");

/* Padding comes from here, a few calls per record: the padding is encrypted like any
 * plaintext, so the zeros only need to exist. */
static const unsigned char zeros[1024];

/* Padme (Nikitin et al., PETS 2019, §4; docs/protocol.md §10.2): keep the top
 * S = floor(log2 E) + 1 bits of len, where E = floor(log2 len), and round the rest up. */
static size_t padme(size_t len) {
    unsigned e = 0, s = 0;
    size_t mask;
    if (len < 2) {
        return len;
    }
    while ((len >> (e + 1)) != 0) {
        e++; /* e = floor(log2 len) */
    }
    while ((e >> s) != 0) {
        s++; /* s = floor(log2 e) + 1 */
    }
    mask = ((size_t)1 << (e - s)) - 1;
    return (len + mask) & ~mask;
}

size_t pqe2ee_record_padded_length(int pad_mode, size_t pad_block, size_t len) {
    size_t padded;
    if (len < 1 || len > MAX_RECORD + 1) {
        return 0;
    }
    switch (pad_mode) {
    case PQE2EE_PAD_NONE:
        return len;
    case PQE2EE_PAD_PADME:
        padded = padme(len);
        break;
    case PQE2EE_PAD_BLOCK:
        if (pad_block < 1 || pad_block > PQE2EE_PAD_BLOCK_MAX) {
            return 0;
        }
        padded = (len + pad_block - 1) / pad_block * pad_block;
        break;
    default:
        return 0;
    }
    /* never beyond the frame maximum: a full record is padded to it at most (§10.3) */
    return padded < MAX_INNER ? padded : MAX_INNER;
}

size_t pqe2ee_records_sealed_size(size_t in_len, size_t record_size, int pad_mode,
                                  size_t pad_block) {
    size_t n, full, rest, size, p_full, p_rest;
    if (record_size == 0 || record_size > MAX_RECORD) {
        return 0;
    }
    n = in_len == 0 ? 1 : (in_len - 1) / record_size + 1;
    full = in_len / record_size;
    rest = in_len - full * record_size;
    p_full = pqe2ee_record_padded_length(pad_mode, pad_block, record_size + 1);
    p_rest = pqe2ee_record_padded_length(pad_mode, pad_block, rest + 1);
    if (p_full == 0 || p_rest == 0 || full > SIZE_MAX / (HEADER_LEN + p_full + TAG_LEN)) {
        return 0;
    }
    size = full * (HEADER_LEN + p_full + TAG_LEN);
    if (n > full) { /* a short last record, or the one empty record */
        if (size > SIZE_MAX - (HEADER_LEN + p_rest + TAG_LEN)) {
            return 0;
        }
        size += HEADER_LEN + p_rest + TAG_LEN;
    }
    return size;
}

static void record_nonce(const unsigned char *iv, unsigned long long seq,
                         unsigned char nonce[IV_LEN]) {
    memcpy(nonce, iv, IV_LEN);
    for (int i = 0; i < 8; i++) {
        nonce[IV_LEN - 1 - i] ^= (unsigned char)(seq >> (8 * i));
    }
}

int pqe2ee_record_seal_one(EVP_CIPHER_CTX *ctx, const unsigned char *iv, unsigned long long seq,
                           unsigned char inner_type, const unsigned char *in, size_t len,
                           size_t pad, unsigned char *out) {
    size_t body = len + 1 + pad + TAG_LEN, done = 0;
    unsigned char nonce[IV_LEN];
    unsigned char fin[TAG_LEN];
    int finl = 0;
    out[0] = CT_ENCRYPTED;
    out[1] = (unsigned char)(body >> 16);
    out[2] = (unsigned char)(body >> 8);
    out[3] = (unsigned char)body;
    record_nonce(iv, seq, nonce);
    if (EVP_EncryptInit_ex2(ctx, NULL, NULL, nonce, NULL) != 1 ||
        !pqe2ee_aead_aad(ctx, 1, out, HEADER_LEN) ||
        !pqe2ee_aead_text(ctx, 1, out + HEADER_LEN, in, len) ||
        !pqe2ee_aead_text(ctx, 1, out + HEADER_LEN + len, &inner_type, 1)) {
        return 0;
    }
    while (done < pad) { /* none without padding: the bulk path pays nothing for it */
        size_t n = pad - done < sizeof zeros ? pad - done : sizeof zeros;
        if (!pqe2ee_aead_text(ctx, 1, out + HEADER_LEN + len + 1 + done, zeros, n)) {
            return 0;
        }
        done += n;
    }
    return EVP_EncryptFinal_ex(ctx, fin, &finl) == 1 && finl == 0 &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN,
                               out + HEADER_LEN + len + 1 + pad) == 1;
}

size_t pqe2ee_record_inner(const unsigned char *plain, size_t text) {
    size_t i = text;
    while (i > 0 && plain[i - 1] == 0) {
        i--; /* padding (§10.1): one comparison when there is none */
    }
    return i;
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
                        int inner_type, size_t record_size, int pad_mode, size_t pad_block,
                        const unsigned char *in, size_t in_len,
                        unsigned char *out, size_t out_len) {
    size_t n, done = 0, sealed;
    int status;
    EVP_CIPHER_CTX *ctx;
    unsigned char type_byte = (unsigned char)inner_type;
    /* inner type 0 would read as padding (§10.1) */
    if (record_size == 0 || record_size > MAX_RECORD || inner_type < 1 || inner_type > 255 ||
        (in_len > 0 && in == NULL) || out == NULL) {
        return PQE2EE_STREAM_ERR_LENGTH;
    }
    n = in_len == 0 ? 1 : (in_len - 1) / record_size + 1;
    sealed = pqe2ee_records_sealed_size(in_len, record_size, pad_mode, pad_block);
    if (sealed == 0 || out_len != sealed) {
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
        size_t pad = pqe2ee_record_padded_length(pad_mode, pad_block, len + 1) - (len + 1);
        if (!pqe2ee_record_seal_one(ctx, iv, first_seq + i, type_byte, in + done, len, pad,
                                    out)) {
            status = PQE2EE_STREAM_ERR_OPENSSL;
            break;
        }
        done += len;
        out += len + pad + OVERHEAD;
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
        size_t body, text, inner;
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
        inner = pqe2ee_record_inner(dst, text);
        if (inner == 0) {
            /* all zeros: no inner type (§10.1).  0 is also what *control_type says when
             * there is no control record, so the record is left unopened (and wiped) for
             * the caller's one-record path, which refuses it; consumed here, it would
             * vanish without a word. */
            OPENSSL_cleanse(dst, text);
            break;
        }
        *consumed += HEADER_LEN + body;
        *n_records += 1;
        if (dst[inner - 1] != INNER_DATA) {
            *control_type = dst[inner - 1];
            *control_len = inner - 1;
            break;
        }
        *produced += inner - 1;
    }
    EVP_CIPHER_CTX_free(ctx);
    return status;
}
