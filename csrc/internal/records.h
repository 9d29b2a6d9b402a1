/* One record at a time over an already keyed context (docs/protocol.md §7), shared by
 * the bulk calls of records.c and the socket pump of pump.c.  Not part of the cffi
 * interface.  Defined in records.c. */
#ifndef PQE2EE_INTERNAL_RECORDS_H
#define PQE2EE_INTERNAL_RECORDS_H

#include <stddef.h>
#include <openssl/evp.h>

#define PQE2EE_RECORD_HEADER 4
#define PQE2EE_RECORD_TAG 16
#define PQE2EE_RECORD_OVERHEAD 21 /* header, inner type, tag */
#define PQE2EE_RECORD_TYPE 0x17   /* the outer content type, and the data inner type */

/* Write the frame of one record, header || AEAD(content || inner_type), len + 21 bytes,
 * to out, under sequence number seq (nonce = iv XOR seq).  1 on success. */
int pqe2ee_record_seal_one(EVP_CIPHER_CTX *ctx, const unsigned char *iv, unsigned long long seq,
                           unsigned char inner_type, const unsigned char *in, size_t len,
                           unsigned char *out);

/* Authenticate and decrypt the frame at frame (header, then body bytes, body >= 17) into
 * dst (body - 16 bytes: content || inner_type).  PQE2EE_STREAM_OK, _ERR_TAG or
 * _ERR_OPENSSL; on failure dst is wiped. */
int pqe2ee_record_open_one(EVP_CIPHER_CTX *ctx, const unsigned char *iv, unsigned long long seq,
                           const unsigned char *frame, size_t body, unsigned char *dst);

#endif
