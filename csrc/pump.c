/* The session data path between a plaintext socket and a session socket, after the
 * handshake: read plaintext, seal records, write them; read records, open them, write
 * the plaintext.  One poll() loop per call over non-blocking sockets, with a bounded
 * output buffer per direction: a direction stops reading while its output is full, so
 * a slow reader holds its writer back (backpressure) without blocking the other way.
 *
 * Fail closed: a record that fails authentication or has an impossible length stops the
 * pump with everything not yet written to the plain socket wiped, and no byte of that
 * record's plaintext ever leaves; so does a byte that cannot start an encrypted record,
 * at once (after the handshake nothing else is valid, and waiting for the rest of a
 * frame that can never be accepted would let anyone on the path stall the pump).  A
 * whole record that is not application data, or any whole record past the receive
 * limit, stops the pump before it is consumed, so the caller's protocol code processes
 * it with the sequence number it was sealed under.  Keys live only in the OpenSSL
 * contexts (wiped on free); plaintext buffers are wiped as they empty and again on free. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "pump.h"
#include "records.h"
#include "stream.h"
#include "internal/aead.h"
#include "internal/buffer.h"
#include "internal/records.h"

/* Short names for the sizes of stream.h, records.h and pump.h. */
#define IV_LEN PQE2EE_AEAD_NONCE_SIZE
#define TAG_LEN PQE2EE_AEAD_TAG_SIZE
#define HEADER_LEN PQE2EE_RECORD_HEADER_SIZE
#define OVERHEAD PQE2EE_RECORD_OVERHEAD
#define MAX_RECORD ((size_t)PQE2EE_RECORD_MAX_PLAINTEXT)
#define MIN_BUFFER ((size_t)PQE2EE_PUMP_BUFFER_MIN)
#define MAX_BUFFER ((size_t)PQE2EE_PUMP_BUFFER_MAX)
/* Room kept free in sess_out for the caller's records (close, key update, alert). */
#define RESERVE ((size_t)4096)
#define MIN_READ ((size_t)1024) /* do not read plaintext into less room than this */

struct pqe2ee_pump {
    int cipher;
    size_t record_size, max_frame, buffer_size;
    int pad_mode;     /* the padding policy of sealed records (records.h, PQE2EE_PAD_*) */
    size_t pad_block;
    size_t reserve;   /* room kept free in sess_out for the caller's records */
    EVP_CIPHER_CTX *seal_ctx, *open_ctx;
    unsigned char send_iv[IV_LEN], recv_iv[IV_LEN];
    unsigned long long send_seq, recv_seq, send_limit, recv_limit;
    struct pqe2ee_buf stage;     /* plaintext read, to be sealed at once */
    struct pqe2ee_buf sess_out;  /* sealed records to write */
    struct pqe2ee_buf sess_in;   /* session bytes to open */
    struct pqe2ee_buf plain_out; /* opened plaintext to write */
    size_t control_len; /* > 0: the frame at the front of sess_in is for the caller */
    int at_limit;       /* ... because the receive limit is reached (not its type) */
    int plain_eof, session_eof, plain_shut, session_shut;
};

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

pqe2ee_pump *pqe2ee_pump_new(int cipher, size_t record_size, size_t max_frame,
                             size_t buffer_size) {
    pqe2ee_pump *p;
    size_t sealed_max;
    if (pqe2ee_aead_cipher(cipher) == NULL || record_size == 0 || record_size > MAX_RECORD ||
        max_frame < PQE2EE_RECORD_MIN_FRAME || max_frame > PQE2EE_RECORD_MAX_FRAME ||
        buffer_size < MIN_BUFFER || buffer_size > MAX_BUFFER) {
        return NULL;
    }
    p = calloc(1, sizeof *p);
    if (p == NULL) {
        return NULL;
    }
    p->cipher = cipher;
    p->record_size = record_size;
    p->max_frame = max_frame;
    p->buffer_size = buffer_size;
    p->pad_mode = PQE2EE_PAD_NONE;
    p->pad_block = 1;
    p->reserve = RESERVE;
    /* a full stage of plaintext sealed, plus room for the caller's few control records */
    sealed_max = buffer_size + (buffer_size / record_size + 1) * OVERHEAD;
    if (!pqe2ee_buf_init(&p->stage, buffer_size, 1) ||
        !pqe2ee_buf_init(&p->sess_out, sealed_max + RESERVE, 0) ||
        !pqe2ee_buf_init(&p->sess_in, buffer_size + HEADER_LEN + max_frame, 0) ||
        !pqe2ee_buf_init(&p->plain_out, buffer_size + max_frame, 1)) {
        pqe2ee_pump_free(p);
        return NULL;
    }
    return p;
}

void pqe2ee_pump_free(pqe2ee_pump *p) {
    if (p == NULL) {
        return;
    }
    EVP_CIPHER_CTX_free(p->seal_ctx); /* clears the key schedule */
    EVP_CIPHER_CTX_free(p->open_ctx);
    pqe2ee_buf_release(&p->stage);
    pqe2ee_buf_release(&p->sess_out);
    pqe2ee_buf_release(&p->sess_in);
    pqe2ee_buf_release(&p->plain_out);
    OPENSSL_cleanse(p, sizeof *p);
    free(p);
}

int pqe2ee_pump_set_key(pqe2ee_pump *p, int send, const unsigned char *key, size_t key_len,
                        const unsigned char *iv, size_t iv_len, unsigned long long seq,
                        unsigned long long limit) {
    int status;
    EVP_CIPHER_CTX *ctx;
    if (p == NULL || iv == NULL || iv_len != IV_LEN) {
        return PQE2EE_PUMP_ERR_STATE;
    }
    ctx = pqe2ee_aead_ctx(p->cipher, send ? 1 : 0, key, key_len, &status);
    if (ctx == NULL) {
        return PQE2EE_PUMP_ERR_STATE;
    }
    if (send) {
        EVP_CIPHER_CTX_free(p->seal_ctx);
        p->seal_ctx = ctx;
        memcpy(p->send_iv, iv, IV_LEN);
        p->send_seq = seq;
        p->send_limit = limit;
    } else {
        EVP_CIPHER_CTX_free(p->open_ctx);
        p->open_ctx = ctx;
        memcpy(p->recv_iv, iv, IV_LEN);
        p->recv_seq = seq;
        p->recv_limit = limit;
    }
    return PQE2EE_PUMP_DONE;
}

/* The padded plaintext length of a record of len content bytes under the pump's policy. */
static size_t padded(const pqe2ee_pump *p, size_t len) {
    return p->pad_mode == PQE2EE_PAD_NONE
               ? len + 1
               : pqe2ee_record_padded_length(p->pad_mode, p->pad_block, len + 1);
}

int pqe2ee_pump_set_padding(pqe2ee_pump *p, int pad_mode, size_t pad_block) {
    size_t small, full, cap;
    if (p == NULL || pqe2ee_record_padded_length(pad_mode, pad_block, 1) == 0 ||
        pqe2ee_buf_used(&p->sess_out) > 0) {
        return PQE2EE_PUMP_ERR_STATE;
    }
    p->pad_mode = pad_mode;
    p->pad_block = pad_block;
    if (pad_mode == PQE2EE_PAD_NONE) {
        p->reserve = RESERVE;
        return PQE2EE_PUMP_DONE;
    }
    /* The caller's records (a key update, its answer, a close, an alert) are padded
     * too: keep room for four of them, and room for one full padded record of data, so
     * the pump can always seal at least one record when sess_out is empty. */
    small = HEADER_LEN + padded(p, 1) + TAG_LEN;
    full = HEADER_LEN + padded(p, p->record_size) + TAG_LEN;
    p->reserve = RESERVE + 4 * small;
    cap = p->buffer_size + (p->buffer_size / p->record_size + 1) * OVERHEAD + p->reserve + full;
    if (cap > p->sess_out.cap) {
        struct pqe2ee_buf bigger;
        if (!pqe2ee_buf_init(&bigger, cap, 0)) {
            return PQE2EE_PUMP_ERR_STATE;
        }
        pqe2ee_buf_release(&p->sess_out);
        p->sess_out = bigger;
    }
    return PQE2EE_PUMP_DONE;
}

static struct pqe2ee_buf *which_buf(pqe2ee_pump *p, int which) {
    switch (which) {
    case PQE2EE_PUMP_SESSION_IN:
        return &p->sess_in;
    case PQE2EE_PUMP_SESSION_OUT:
        return &p->sess_out;
    case PQE2EE_PUMP_PLAIN_OUT:
        return &p->plain_out;
    default:
        return NULL;
    }
}

int pqe2ee_pump_push(pqe2ee_pump *p, int which, const unsigned char *data, size_t len) {
    struct pqe2ee_buf *b = p == NULL ? NULL : which_buf(p, which);
    if (b == NULL || (len > 0 && data == NULL)) {
        return PQE2EE_PUMP_ERR_STATE;
    }
    if (pqe2ee_buf_room(b, len) < len) {
        return PQE2EE_PUMP_ERR_FULL;
    }
    if (len > 0) {
        memcpy(b->p + b->tail, data, len);
        b->tail += len;
        pqe2ee_buf_grew(b);
    }
    if (which == PQE2EE_PUMP_SESSION_IN) {
        p->control_len = 0; /* look at the front frame again */
        p->at_limit = 0;
    }
    return PQE2EE_PUMP_DONE;
}

int pqe2ee_pump_take(pqe2ee_pump *p, int which, unsigned char *out, size_t out_len,
                     size_t *taken) {
    struct pqe2ee_buf *b = p == NULL ? NULL : which_buf(p, which);
    size_t n;
    if (b == NULL || taken == NULL || (out_len > 0 && out == NULL)) {
        return PQE2EE_PUMP_ERR_STATE;
    }
    n = pqe2ee_buf_used(b) < out_len ? pqe2ee_buf_used(b) : out_len;
    if (n > 0) {
        memcpy(out, b->p + b->head, n);
        pqe2ee_buf_consume(b, n);
    }
    *taken = n;
    if (which == PQE2EE_PUMP_SESSION_IN) {
        p->control_len = 0;
        p->at_limit = 0;
    }
    return PQE2EE_PUMP_DONE;
}

/* Fail closed: no plaintext of this session stays in the pump. */
static int fail(pqe2ee_pump *p, int status) {
    pqe2ee_buf_wipe(&p->stage);
    pqe2ee_buf_wipe(&p->plain_out);
    return status;
}

/* Open the complete application-data records at the front of sess_in into plain_out,
 * as far as plain_out has room; stop in front of a record that is not data, or of any
 * whole record once the receive limit is reached.  Only whole records are ever left
 * for the caller, so each return for one hands it at least one byte to consume: an
 * incomplete frame is waited for here, by poll(), never bounced back and forth. */
static int open_records(pqe2ee_pump *p, struct pqe2ee_pump_result *r) {
    struct pqe2ee_buf *in = &p->sess_in, *out = &p->plain_out;
    while (p->control_len == 0 && pqe2ee_buf_used(in) > 0) {
        const unsigned char *frame = in->p + in->head;
        size_t body, text, inner;
        unsigned char *dst;
        int status;
        if (frame[0] != PQE2EE_RECORD_CT_ENCRYPTED) {
            /* after the handshake nothing else is valid: fail at this byte rather than
             * wait for a body that may never come */
            return fail(p, PQE2EE_PUMP_ERR_TYPE);
        }
        if (pqe2ee_buf_used(in) < HEADER_LEN) {
            break; /* incomplete header */
        }
        body = ((size_t)frame[1] << 16) | ((size_t)frame[2] << 8) | frame[3];
        if (body < PQE2EE_RECORD_MIN_FRAME || body > p->max_frame) {
            return fail(p, PQE2EE_PUMP_ERR_LENGTH);
        }
        if (pqe2ee_buf_used(in) - HEADER_LEN < body) {
            break; /* incomplete */
        }
        if (p->recv_seq >= p->recv_limit) {
            p->control_len = HEADER_LEN + body; /* the caller judges the rest */
            p->at_limit = 1;
            break;
        }
        text = body - TAG_LEN;
        if (pqe2ee_buf_room(out, text) < text) {
            break; /* plain_out is full: backpressure */
        }
        dst = out->p + out->tail;
        status = pqe2ee_record_open_one(p->open_ctx, p->recv_iv, p->recv_seq, frame, body, dst);
        if (status == PQE2EE_STREAM_ERR_TAG) {
            return fail(p, PQE2EE_PUMP_ERR_TAG);
        }
        if (status != PQE2EE_STREAM_OK) {
            return fail(p, PQE2EE_PUMP_ERR_STATE);
        }
        inner = pqe2ee_record_inner(dst, text); /* padding stripped (§10.1) */
        if (inner == 0 || dst[inner - 1] != PQE2EE_RECORD_INNER_DATA) {
            /* a control record, or none at all (all zeros, which the caller refuses) */
            OPENSSL_cleanse(dst, text); /* the caller opens it again, with this seq */
            p->control_len = HEADER_LEN + body;
            break;
        }
        OPENSSL_cleanse(dst + inner - 1, 1); /* the padding after it is zeros already */
        out->tail += inner - 1;
        pqe2ee_buf_grew(out);
        pqe2ee_buf_consume(in, HEADER_LEN + body);
        p->recv_seq += 1;
        r->opened_records += 1;
        r->opened_bytes += inner - 1;
    }
    return PQE2EE_PUMP_DONE;
}

/* Seal the staged plaintext into sess_out (room was checked before the read). */
static int seal_stage(pqe2ee_pump *p, struct pqe2ee_pump_result *r) {
    struct pqe2ee_buf *st = &p->stage, *out = &p->sess_out;
    while (pqe2ee_buf_used(st) > 0) {
        size_t len = pqe2ee_buf_used(st) < p->record_size ? pqe2ee_buf_used(st) : p->record_size;
        size_t pad = padded(p, len) - (len + 1);
        if (!pqe2ee_record_seal_one(p->seal_ctx, p->send_iv, p->send_seq,
                                    PQE2EE_RECORD_INNER_DATA, st->p + st->head, len, pad,
                                    out->p + out->tail)) {
            return fail(p, PQE2EE_PUMP_ERR_STATE);
        }
        out->tail += len + pad + OVERHEAD;
        pqe2ee_buf_grew(out);
        pqe2ee_buf_consume(st, len);
        p->send_seq += 1;
        r->sealed_records += 1;
        r->plain_read += len;
    }
    return PQE2EE_PUMP_DONE;
}

/* The most content bytes of one record whose sealed frame fits in room bytes (less than
 * record_size), under a padding policy: P is monotone, so a binary search finds it. */
static size_t padded_fit(const pqe2ee_pump *p, size_t room) {
    size_t lo = 0, hi = room > OVERHEAD ? room - OVERHEAD : 0;
    if (hi >= p->record_size) {
        hi = p->record_size - 1;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (HEADER_LEN + padded(p, mid) + TAG_LEN <= room) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    return lo;
}

/* How much plaintext may be read now: what sess_out can take once sealed (less the
 * reserve), what the stage holds, and what the send limit still allows. */
static size_t read_allowance(pqe2ee_pump *p) {
    size_t room = pqe2ee_buf_room(&p->sess_out, p->sess_out.cap / 2), rs = p->record_size;
    /* keep the reserve free for the caller's records (close, key update, alert), which
     * must fit even while the session's reader is not taking anything */
    room = room > p->reserve ? room - p->reserve : 0;
    size_t n;
    if (p->pad_mode == PQE2EE_PAD_NONE) {
        size_t full = room / (rs + OVERHEAD);
        size_t rest = room - full * (rs + OVERHEAD);
        n = full * rs + (rest > OVERHEAD ? rest - OVERHEAD : 0);
    } else {
        size_t sealed_full = HEADER_LEN + padded(p, rs) + TAG_LEN;
        size_t full = room / sealed_full;
        n = full * rs + padded_fit(p, room - full * sealed_full);
    }
    unsigned long long records = p->send_limit - p->send_seq;
    if (records < (n + rs - 1) / rs) {
        n = (size_t)records * rs;
    }
    return n < p->stage.cap ? n : p->stage.cap;
}

static int os_error(struct pqe2ee_pump_result *r, int side, int err) {
    r->side = side;
    r->os_error = err;
    return PQE2EE_PUMP_ERR_OS;
}

static int half_close(int fd, int *done) {
    if (*done) {
        return 0;
    }
    *done = 1;
    return shutdown(fd, SHUT_WR) == 0 || errno == ENOTCONN ? 0 : errno;
}

/* One pqe2ee_pump_run() call: its arguments, and what its loop carries from one step to
 * the next.  Each step answers NEXT (go on to the next step), AGAIN (start the loop over)
 * or a status for the caller. */
struct run {
    pqe2ee_pump *p;
    struct pqe2ee_pump_result *r;
    int plain_fd, session_fd, wake_fd, flags, timeout_ms;
    int read_plain, read_session;
    long long last;       /* when a byte last moved either way */
    size_t allowance;     /* plaintext the next read may take (read_allowance) */
    struct pollfd fds[3]; /* plain fd, session fd, wake fd */
};

enum { NEXT = -1, AGAIN = -2 };

enum { SIDE_PLAIN = 0, SIDE_SESSION = 1, SIDE_POLL = 2 };

/* Open what sess_in holds.  Nothing is opened once the caller stops reading the session
 * (after the peer's close, a record is an error the caller's protocol code reports). */
static int open_step(struct run *run) {
    int status = run->read_session ? open_records(run->p, run->r) : PQE2EE_PUMP_DONE;
    return status == PQE2EE_PUMP_DONE ? NEXT : status;
}

/* Write both outputs as far as the sockets take them. */
static int write_step(struct run *run) {
    pqe2ee_pump *p = run->p;
    struct pqe2ee_pump_result *r = run->r;
    int err = 0, moved = 0, n;
    n = pqe2ee_buf_send(&p->plain_out, run->plain_fd, &r->plain_written, &err);
    if (n < 0) {
        return os_error(r, SIDE_PLAIN, err);
    }
    moved |= n;
    n = pqe2ee_buf_send(&p->sess_out, run->session_fd, &r->session_written, &err);
    if (n < 0) {
        return os_error(r, SIDE_SESSION, err);
    }
    moved |= n;
    if (moved) {
        run->last = now_ms();
    }
    if (moved && run->read_session && pqe2ee_buf_used(&p->plain_out) == 0 &&
        p->control_len == 0 && pqe2ee_buf_used(&p->sess_in) > 0) {
        return AGAIN; /* room again: open what is waiting before deciding anything */
    }
    return NEXT;
}

/* Half-close each fd the caller asked for once its output is flushed. */
static int shut_step(struct run *run) {
    pqe2ee_pump *p = run->p;
    int err;
    if ((run->flags & PQE2EE_PUMP_SHUT_PLAIN) && pqe2ee_buf_used(&p->plain_out) == 0 &&
        (err = half_close(run->plain_fd, &p->plain_shut)) != 0) {
        return os_error(run->r, SIDE_PLAIN, err);
    }
    if ((run->flags & PQE2EE_PUMP_SHUT_SESSION) && pqe2ee_buf_used(&p->sess_out) == 0 &&
        (err = half_close(run->session_fd, &p->session_shut)) != 0) {
        return os_error(run->r, SIDE_SESSION, err);
    }
    return NEXT;
}

/* Whether the caller is needed now, and why. */
static int decide_step(struct run *run) {
    pqe2ee_pump *p = run->p;
    size_t plain_pending = pqe2ee_buf_used(&p->plain_out);
    if (p->control_len > 0 && plain_pending == 0) {
        run->r->control_len = p->control_len;
        return p->at_limit ? PQE2EE_PUMP_RECV_LIMIT : PQE2EE_PUMP_CONTROL;
    }
    if (run->read_plain && p->plain_eof) {
        return PQE2EE_PUMP_PLAIN_EOF;
    }
    if (run->read_plain && p->send_seq >= p->send_limit) {
        return PQE2EE_PUMP_SEND_LIMIT;
    }
    if (run->read_session && p->session_eof && p->control_len == 0 && plain_pending == 0) {
        return PQE2EE_PUMP_SESSION_EOF; /* what is left cannot be a whole record */
    }
    if (plain_pending == 0 && pqe2ee_buf_used(&p->sess_out) == 0 &&
        (!run->read_plain || p->plain_eof) && (!run->read_session || p->session_eof) &&
        !(run->flags & PQE2EE_PUMP_SHUT_PLAIN && !p->plain_shut) &&
        !(run->flags & PQE2EE_PUMP_SHUT_SESSION && !p->session_shut)) {
        return PQE2EE_PUMP_DONE;
    }
    return NEXT;
}

/* What to wait for on each fd: input while there is room for it, output while there is
 * some.  An fd with nothing asked is left out: a hung-up socket would wake poll forever. */
static void want_events(struct run *run) {
    pqe2ee_pump *p = run->p;
    struct pollfd *plain = &run->fds[0], *session = &run->fds[1], *wake = &run->fds[2];
    plain->fd = run->plain_fd;
    plain->events = 0;
    run->allowance = run->read_plain && !p->plain_eof ? read_allowance(p) : 0;
    if (run->allowance >= MIN_READ ||
        (run->allowance > 0 && pqe2ee_buf_used(&p->sess_out) == 0)) {
        plain->events |= POLLIN;
    }
    if (pqe2ee_buf_used(&p->plain_out) > 0) {
        plain->events |= POLLOUT;
    }
    session->fd = run->session_fd;
    session->events = 0;
    if (run->read_session && !p->session_eof &&
        pqe2ee_buf_room(&p->sess_in, p->sess_in.cap / 2) > 0) {
        session->events |= POLLIN;
    }
    if (pqe2ee_buf_used(&p->sess_out) > 0) {
        session->events |= POLLOUT;
    }
    if (plain->events == 0) {
        plain->fd = -1;
    }
    if (session->events == 0) {
        session->fd = -1;
    }
    wake->fd = run->wake_fd;
    wake->events = POLLIN;
    plain->revents = session->revents = wake->revents = 0;
}

/* Wait for the events of want_events, at most until timeout_ms after the last move. */
static int poll_step(struct run *run) {
    int wait = -1, n;
    want_events(run);
    if (run->timeout_ms >= 0) {
        long long left = run->last + run->timeout_ms - now_ms();
        if (left <= 0) {
            return PQE2EE_PUMP_TIMEOUT;
        }
        wait = left > 3600000 ? 3600000 : (int)left;
    }
    n = poll(run->fds, 3, wait);
    if (n < 0) {
        return errno == EINTR ? AGAIN : os_error(run->r, SIDE_POLL, errno);
    }
    if (run->fds[2].revents != 0) {
        return PQE2EE_PUMP_WAKE;
    }
    return NEXT;
}

static int readable(const struct pollfd *fd) {
    return fd->revents & (POLLIN | POLLHUP | POLLERR) && fd->events & POLLIN;
}

/* Read plaintext into the stage (no more than read_allowance said) and seal it. */
static int read_plain_step(struct run *run) {
    pqe2ee_pump *p = run->p;
    unsigned long long staged = 0; /* plain_read counts bytes as they are sealed */
    int err = 0, n, status;
    if (!readable(&run->fds[0])) {
        return NEXT;
    }
    n = pqe2ee_buf_recv(&p->stage, run->allowance, run->plain_fd, &staged, &err);
    if (n < 0) {
        return os_error(run->r, SIDE_PLAIN, err);
    }
    if (n == 2) {
        p->plain_eof = 1;
    }
    status = seal_stage(p, run->r);
    if (status != PQE2EE_PUMP_DONE) {
        return status;
    }
    if (n > 0) {
        run->last = now_ms();
    }
    return NEXT;
}

/* Read session bytes into sess_in (opened by the next open_step). */
static int read_session_step(struct run *run) {
    pqe2ee_pump *p = run->p;
    struct pqe2ee_buf *in = &p->sess_in;
    int err = 0, n;
    if (!readable(&run->fds[1])) {
        return NEXT;
    }
    n = pqe2ee_buf_recv(in, in->cap - in->tail, run->session_fd, &run->r->session_read, &err);
    if (n < 0) {
        return os_error(run->r, SIDE_SESSION, err);
    }
    if (n == 2) {
        p->session_eof = 1;
    }
    if (n > 0) {
        run->last = now_ms();
    }
    return NEXT;
}

/* The loop of pqe2ee_pump_run: open, write, half-close, decide, wait, read, until a
 * step has a status for the caller. */
static int pump_loop(struct run *run) {
    static int (*const steps[])(struct run *) = {
        open_step, write_step, shut_step, decide_step, poll_step, read_plain_step,
        read_session_step,
    };
    for (;;) {
        int status = NEXT;
        for (size_t i = 0; status == NEXT && i < sizeof steps / sizeof steps[0]; i++) {
            status = steps[i](run);
        }
        if (status != NEXT && status != AGAIN) {
            return status;
        }
    }
}

int pqe2ee_pump_run(pqe2ee_pump *p, int plain_fd, int session_fd, int wake_fd, int flags,
                    int timeout_ms, struct pqe2ee_pump_result *r) {
    int status;
    if (r == NULL) {
        return PQE2EE_PUMP_ERR_STATE;
    }
    memset(r, 0, sizeof *r);
    if (p == NULL || plain_fd < 0 || session_fd < 0 ||
        ((flags & PQE2EE_PUMP_READ_PLAIN) && p->seal_ctx == NULL) ||
        ((flags & PQE2EE_PUMP_READ_SESSION) && p->open_ctx == NULL)) {
        status = PQE2EE_PUMP_ERR_STATE;
    } else {
        struct run run = {
            .p = p,
            .r = r,
            .plain_fd = plain_fd,
            .session_fd = session_fd,
            .wake_fd = wake_fd,
            .flags = flags,
            .timeout_ms = timeout_ms,
            .read_plain = (flags & PQE2EE_PUMP_READ_PLAIN) != 0,
            .read_session = (flags & PQE2EE_PUMP_READ_SESSION) != 0,
            .last = now_ms(),
        };
        status = pump_loop(&run);
    }
    r->status = status;
    if (p != NULL) {
        r->send_seq = p->send_seq;
        r->recv_seq = p->recv_seq;
        r->pending_plain = pqe2ee_buf_used(&p->plain_out);
        r->pending_session = pqe2ee_buf_used(&p->sess_out);
        r->buffered_session = pqe2ee_buf_used(&p->sess_in);
    }
    return status;
}
