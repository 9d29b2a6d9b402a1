/* pqe2ee compiled core: bulk AEAD for the STREAM payload format (age spec, "Payload";
 * C2SP STREAM) over OpenSSL EVP.  Read by cffi's cdef: plain declarations and integer
 * #defines only (pqe2ee._binding reads every size from here rather than restating it).
 *
 * Layout of a stream: chunk i is sealed with the 12-byte nonce
 *     counter(i) as 11 bytes big-endian || flag (0x01 on the last chunk, else 0x00)
 * and no associated data; each sealed chunk is ciphertext || 16-byte tag.
 *
 * The functions below do no policy: they check that the lengths they are given are
 * consistent, run whole loops of chunks, and answer with a status code.  Input and output
 * buffers must not overlap.  Keys are 32 bytes; the counter is passed as 11 big-endian
 * bytes so the full 88-bit range is reachable. */

/* Sizes of both AEADs (RFC 8439 §2.8, NIST SP 800-38D) and of the STREAM counter.  The
 * record layer and the pump use the same key, nonce (their IV) and tag sizes. */
#define PQE2EE_AEAD_KEY_SIZE 32
#define PQE2EE_AEAD_NONCE_SIZE 12
#define PQE2EE_AEAD_TAG_SIZE 16
#define PQE2EE_STREAM_COUNTER_SIZE 11 /* the nonce is counter || final flag */

enum pqe2ee_stream_status {
    PQE2EE_STREAM_OK = 0,
    PQE2EE_STREAM_ERR_TAG = 1,     /* a chunk failed authentication */
    PQE2EE_STREAM_ERR_LENGTH = 2,  /* lengths, key size or chunk geometry inconsistent */
    PQE2EE_STREAM_ERR_COUNTER = 3, /* the run would pass the last 88-bit counter value */
    PQE2EE_STREAM_ERR_CIPHER = 4,  /* unknown cipher id, or libcrypto does not offer it */
    PQE2EE_STREAM_ERR_OPENSSL = 5  /* an OpenSSL call failed (error queue left filled) */
};

enum pqe2ee_stream_cipher {
    PQE2EE_STREAM_CHACHA20_POLY1305 = 1,
    PQE2EE_STREAM_AES_256_GCM = 2
};

/* Seal n_chunks consecutive chunks, the first with counter first_counter (11 bytes).
 * All chunks but the last hold chunk_size plaintext bytes; the last holds the rest,
 * 1..chunk_size bytes (0 only when n_chunks == 1).  The last chunk gets the final flag
 * when last_is_final is non-zero.  out_len must be in_len + 16 * n_chunks. */
int pqe2ee_stream_seal(int cipher, const unsigned char *key, size_t key_len,
                       const unsigned char *first_counter, size_t counter_len,
                       size_t n_chunks, int last_is_final, size_t chunk_size,
                       const unsigned char *in, size_t in_len,
                       unsigned char *out, size_t out_len);

/* Open n_chunks consecutive sealed chunks (geometry as for seal, each 16 bytes longer).
 * Stops at the first chunk that fails: *n_opened is the number of chunks before it, whose
 * plaintext is in out; the failing chunk's plaintext area is wiped.  out_len must be
 * in_len - 16 * n_chunks. */
int pqe2ee_stream_open(int cipher, const unsigned char *key, size_t key_len,
                       const unsigned char *first_counter, size_t counter_len,
                       size_t n_chunks, int last_is_final, size_t chunk_size,
                       const unsigned char *in, size_t in_len,
                       unsigned char *out, size_t out_len, size_t *n_opened);

/* One AEAD operation with an explicit 12-byte nonce and associated data (RFC 8439 §2.8,
 * NIST SP 800-38D), for known-answer tests and raw speed comparisons.
 * seal: out_len == in_len + 16 (ciphertext || tag).
 * open: in is ciphertext || tag, out_len == in_len - 16; on a bad tag out is wiped. */
int pqe2ee_stream_seal_one(int cipher, const unsigned char *key, size_t key_len,
                           const unsigned char *nonce, size_t nonce_len,
                           const unsigned char *aad, size_t aad_len,
                           const unsigned char *in, size_t in_len,
                           unsigned char *out, size_t out_len);
int pqe2ee_stream_open_one(int cipher, const unsigned char *key, size_t key_len,
                           const unsigned char *nonce, size_t nonce_len,
                           const unsigned char *aad, size_t aad_len,
                           const unsigned char *in, size_t in_len,
                           unsigned char *out, size_t out_len);

/* Overwrite len bytes at buf with zeros in a way the compiler keeps (OPENSSL_cleanse). */
void pqe2ee_stream_cleanse(unsigned char *buf, size_t len);

/* Pop this thread's OpenSSL error queue: write the oldest error's text into buf (always
 * NUL-terminated when buf_len > 0), clear the rest, return 1 if there was an error. */
int pqe2ee_stream_drain_errors(char *buf, size_t buf_len);
