/* A bounded byte buffer, and moving its bytes to and from a non-blocking socket: the four
 * buffers of the socket pump (pump.c).  Not part of the cffi interface.  Defined in
 * buffer.c.
 *
 * A buffer marked secret holds plaintext: every byte that leaves its live range (taken,
 * written out, or moved to the front) is wiped at once, and pqe2ee_buf_wipe clears every
 * byte ever written, so no plaintext outlives its use in the pump. */
#ifndef PQE2EE_INTERNAL_BUFFER_H
#define PQE2EE_INTERNAL_BUFFER_H

#include <stddef.h>

struct pqe2ee_buf {
    unsigned char *p;
    size_t cap, head, tail; /* live bytes are p[head .. tail) */
    size_t dirty;           /* p[0 .. dirty) has been written at some point */
    int secret;             /* plaintext: wipe what leaves the live range */
};

/* The number of live bytes. */
static inline size_t pqe2ee_buf_used(const struct pqe2ee_buf *b) { return b->tail - b->head; }

/* Allocate cap bytes (not touched yet); 1 on success. */
int pqe2ee_buf_init(struct pqe2ee_buf *b, size_t cap, int secret);

/* Wipe every byte ever written and empty the buffer. */
void pqe2ee_buf_wipe(struct pqe2ee_buf *b);

/* Wipe, then free the memory (a released buffer may be released again). */
void pqe2ee_buf_release(struct pqe2ee_buf *b);

/* Record that the caller wrote bytes up to tail (after it advanced tail itself). */
void pqe2ee_buf_grew(struct pqe2ee_buf *b);

/* Drop n live bytes from the front (wiped when secret). */
void pqe2ee_buf_consume(struct pqe2ee_buf *b, size_t n);

/* Room at the end, after moving the live bytes to the front when there is less than
 * want (and moving gains any). */
size_t pqe2ee_buf_room(struct pqe2ee_buf *b, size_t want);

/* Write the live bytes to fd (until it would block), adding the count to *count;
 * 1 if bytes moved, 0 if none could, -1 on error with *err = errno. */
int pqe2ee_buf_send(struct pqe2ee_buf *b, int fd, unsigned long long *count, int *err);

/* Read at most max bytes from fd to the end (max must fit), adding the count to *count;
 * 1 if bytes came, 0 if none yet, 2 at end of stream, -1 on error with *err = errno. */
int pqe2ee_buf_recv(struct pqe2ee_buf *b, size_t max, int fd, unsigned long long *count,
                    int *err);

#endif
