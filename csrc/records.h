/* pqe2ee compiled core: the session record layer's bulk path (docs/protocol.md §7).
 * Read by cffi's cdef: plain declarations and integer #defines only.  Status codes,
 * cipher ids and AEAD sizes are the PQE2EE_STREAM_* / PQE2EE_AEAD_* ones of stream.h.
 *
 * A record is the frame   0x17 || length u24 || AEAD(key, nonce, aad = those 4 bytes,
 *                                                    content || inner_type || zeros[pad])
 * (docs/protocol.md §10: every inner type is nonzero, so the receiver strips trailing
 * zeros and the last nonzero byte is the inner type; an all-zero plaintext has none)
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
#define PQE2EE_RECORD_MAX_INNER 65776     /* padded plaintext at most: MAX_FRAME - tag */

/* Padding policies (docs/protocol.md §10.2): the padded plaintext length P(L) of a
 * record whose content and inner type are L bytes. */
#define PQE2EE_PAD_NONE 0        /* P(L) = L */
#define PQE2EE_PAD_PADME 1       /* Padme (Nikitin et al., PETS 2019), capped at MAX_INNER */
#define PQE2EE_PAD_BLOCK 2       /* ceil(L / block) * block, capped at MAX_INNER */
#define PQE2EE_PAD_BLOCK_MAX 65536 /* block is 1 .. this */

/* P(len) for len = content + 1 bytes (1 .. MAX_PLAINTEXT + 1) under (pad_mode, pad_block);
 * 0 for an unknown mode, a block out of range or a len out of range. */
size_t pqe2ee_record_padded_length(int pad_mode, size_t pad_block, size_t len);

/* Bytes that in_len content bytes take as records of record_size content bytes under
 * (pad_mode, pad_block) (one empty record when in_len is 0); 0 on bad arguments. */
size_t pqe2ee_records_sealed_size(size_t in_len, size_t record_size, int pad_mode,
                                  size_t pad_block);

/* Seal in_len bytes as records of record_size content bytes (the last may be shorter;
 * one empty record when in_len is 0), all with inner_type (1 .. 255), each padded as
 * (pad_mode, pad_block) says.  out_len must be pqe2ee_records_sealed_size(in_len,
 * record_size, pad_mode, pad_block): without padding in_len + n * OVERHEAD where
 * n = max(1, ceil(in_len / record_size)); record_size <= MAX_PLAINTEXT.
 * Sequence numbers first_seq .. first_seq + n - 1 must not wrap. */
int pqe2ee_records_seal(int cipher, const unsigned char *key, size_t key_len,
                        const unsigned char *iv, size_t iv_len, unsigned long long first_seq,
                        int inner_type, size_t record_size, int pad_mode, size_t pad_block,
                        const unsigned char *in, size_t in_len,
                        unsigned char *out, size_t out_len);

/* Open consecutive complete records from in, writing their content one after another
 * into out (padding stripped: zeros may follow the content in out, past what *produced
 * counts).  Stops, with status OK, at: the end of the complete frames in in, a frame
 * that is not 0x17, too little room left in out (a record needs its whole plaintext
 * length), or just after a record whose inner type
 * is not application data (0x17): that record's content then sits at out + *produced,
 * *control_len bytes long, and *control_type is its inner type (else 0).  A record whose
 * plaintext is all zeros (no inner type) stops it just before that record, which stays
 * unconsumed (and its plaintext area wiped) for the caller's one-record path to refuse.
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
