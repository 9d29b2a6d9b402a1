/* pqe2ee compiled core: the session record layer's bulk path (docs/protocol.md §7).
 * Read by cffi's cdef: plain declarations and integer #defines only.  Status codes,
 * cipher ids and AEAD sizes are the PQE2EE_STREAM_* / PQE2EE_AEAD_* ones of stream.h.
 *
 * A record is the frame   0x17 || length u24 || AEAD(key, nonce, aad = those 4 bytes,
 *                                                    content || inner_type)
 * with nonce = iv XOR (0^4 || seq as 8 bytes big-endian), seq counting from first_seq.
 * Input and output buffers must not overlap. */

/* The record format's sizes and types (docs/protocol.md §2, §7). */
#define PQE2EE_RECORD_HEADER_SIZE 4       /* content type u8 || length u24 */
#define PQE2EE_RECORD_MAX_PLAINTEXT 65536 /* content bytes of one record: 2^16 */
#define PQE2EE_RECORD_MAX_FRAME 65792     /* payload bytes of an encrypted frame: 2^16 + 256 */
#define PQE2EE_RECORD_MIN_FRAME 17        /* the smallest payload: inner type and tag */
#define PQE2EE_RECORD_OVERHEAD 21         /* header, inner type, tag */
#define PQE2EE_RECORD_CT_ENCRYPTED 0x17   /* the outer content type of every record */
#define PQE2EE_RECORD_INNER_DATA 0x17     /* the inner type of application data */

/* Seal in_len bytes as records of record_size content bytes (the last may be shorter;
 * one empty record when in_len is 0), all with inner_type.  out_len must be
 * in_len + n * OVERHEAD where n = max(1, ceil(in_len / record_size));
 * record_size <= MAX_PLAINTEXT.
 * Sequence numbers first_seq .. first_seq + n - 1 must not wrap. */
int pqe2ee_records_seal(int cipher, const unsigned char *key, size_t key_len,
                        const unsigned char *iv, size_t iv_len, unsigned long long first_seq,
                        int inner_type, size_t record_size,
                        const unsigned char *in, size_t in_len,
                        unsigned char *out, size_t out_len);

/* Open consecutive complete records from in, writing their content one after another
 * into out.  Stops, with status OK, at: the end of the complete frames in in, a frame
 * that is not 0x17, too little room left in out, or just after a record whose inner type
 * is not application data (0x17): that record's content then sits at out + *produced,
 * *control_len bytes long, and *control_type is its inner type (else 0).  A record of
 * inner type 0 stops it just before that record, which stays unconsumed (and its
 * plaintext area wiped): 0 cannot be told from "no control record".
 * *consumed: input bytes used; *produced: application-data bytes written before any
 * control record; *n_records: records opened (sequence numbers used).
 * A frame length outside MIN_FRAME .. max_frame gives ERR_LENGTH; a record failing
 * authentication gives ERR_TAG; in both cases the outputs describe the records before it
 * and the failing record's plaintext area is wiped. */
int pqe2ee_records_open(int cipher, const unsigned char *key, size_t key_len,
                        const unsigned char *iv, size_t iv_len, unsigned long long first_seq,
                        size_t max_frame, const unsigned char *in, size_t in_len,
                        unsigned char *out, size_t out_len,
                        size_t *consumed, size_t *produced, unsigned long long *n_records,
                        int *control_type, size_t *control_len);
