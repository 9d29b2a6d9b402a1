/* One record at a time over an already keyed context (docs/protocol.md §7), shared by
 * the bulk calls of records.c and the socket pump of pump.c.  Not part of the cffi
 * interface.  Defined in records.c; the sizes (PQE2EE_RECORD_*) are those of records.h,
 * which is included before this file. */
#ifndef PQE2EE_INTERNAL_RECORDS_H
#define PQE2EE_INTERNAL_RECORDS_H

#include <stddef.h>
#include <openssl/evp.h>

/* Write the frame of one record, header || AEAD(content || inner_type || zeros[pad]),
 * len + pad + OVERHEAD bytes, to out, under sequence number seq (nonce = iv XOR seq);
 * len + 1 + pad <= MAX_INNER.  1 on success. */
int pqe2ee_record_seal_one(EVP_CIPHER_CTX *ctx, const unsigned char *iv, unsigned long long seq,
                           unsigned char inner_type, const unsigned char *in, size_t len,
                           size_t pad, unsigned char *out);

/* The length of an opened plaintext (text bytes) without its padding: content and inner
 * type, the inner type being its last byte; 0 when the plaintext is all zeros and has no
 * inner type (docs/protocol.md §10.1). */
size_t pqe2ee_record_inner(const unsigned char *plain, size_t text);

/* Authenticate and decrypt the frame at frame (header, then body bytes, body >= MIN_FRAME) into
 * dst (body - tag bytes: content || inner_type).  PQE2EE_STREAM_OK, _ERR_TAG or
 * _ERR_OPENSSL; on failure dst is wiped. */
int pqe2ee_record_open_one(EVP_CIPHER_CTX *ctx, const unsigned char *iv, unsigned long long seq,
                           const unsigned char *frame, size_t body, unsigned char *dst);

#endif
