/* The socket pump's bounded buffers (internal/buffer.h): one allocation each, bytes kept
 * in one live range that starts over at 0 whenever it empties, plaintext wiped as it
 * leaves.  No policy here: pump.c decides what goes where. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <openssl/crypto.h>

#include "internal/buffer.h"

int pqe2ee_buf_init(struct pqe2ee_buf *b, size_t cap, int secret) {
    b->p = malloc(cap);
    b->cap = cap;
    b->head = b->tail = b->dirty = 0;
    b->secret = secret;
    return b->p != NULL;
}

/* Wipe every byte ever written (not the whole capacity: pages never touched stay
 * untouched, so a short connection does not fault in its full buffers to wipe them). */
void pqe2ee_buf_wipe(struct pqe2ee_buf *b) {
    if (b->p != NULL && b->dirty > 0) {
        OPENSSL_cleanse(b->p, b->dirty);
    }
    b->head = b->tail = b->dirty = 0;
}

void pqe2ee_buf_grew(struct pqe2ee_buf *b) {
    if (b->tail > b->dirty) {
        b->dirty = b->tail;
    }
}

void pqe2ee_buf_release(struct pqe2ee_buf *b) {
    pqe2ee_buf_wipe(b);
    free(b->p);
    b->p = NULL;
}

void pqe2ee_buf_consume(struct pqe2ee_buf *b, size_t n) {
    if (b->secret) {
        OPENSSL_cleanse(b->p + b->head, n);
    }
    b->head += n;
    if (b->head == b->tail) {
        b->head = b->tail = 0;
    }
}

size_t pqe2ee_buf_room(struct pqe2ee_buf *b, size_t want) {
    if (b->head > 0 && b->cap - b->tail < want) {
        size_t n = pqe2ee_buf_used(b);
        memmove(b->p, b->p + b->head, n);
        if (b->secret) {
            OPENSSL_cleanse(b->p + n, b->tail - n);
        }
        b->head = 0;
        b->tail = n;
    }
    return b->cap - b->tail;
}

int pqe2ee_buf_send(struct pqe2ee_buf *b, int fd, unsigned long long *count, int *err) {
    int moved = 0;
    while (pqe2ee_buf_used(b) > 0) {
        ssize_t n = send(fd, b->p + b->head, pqe2ee_buf_used(b), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            *err = errno;
            return -1;
        }
        pqe2ee_buf_consume(b, (size_t)n);
        *count += (unsigned long long)n;
        moved = 1;
    }
    return moved;
}

int pqe2ee_buf_recv(struct pqe2ee_buf *b, size_t max, int fd, unsigned long long *count,
                    int *err) {
    ssize_t n;
    do {
        n = recv(fd, b->p + b->tail, max, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return 0;
        }
        *err = errno;
        return -1;
    }
    if (n == 0) {
        return 2;
    }
    b->tail += (size_t)n;
    pqe2ee_buf_grew(b);
    *count += (unsigned long long)n;
    return 1;
}
