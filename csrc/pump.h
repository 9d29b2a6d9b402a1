/* pqe2ee compiled core: the session data path between two sockets (docs/tunnel.md,
 * "The data path").  Read by cffi's cdef: plain declarations and integer #defines only.
 * Cipher ids are the PQE2EE_STREAM_* ones of stream.h; the record format is the one of records.h
 * (docs/protocol.md §7).
 *
 * A pump holds, for one established session, the application-data keys of both
 * directions and four bounded buffers: plaintext read but not yet sealed (wiped after
 * sealing), records sealed but not yet written to the session fd, session bytes read
 * but not yet opened, and plaintext opened but not yet written to the plain fd.
 * pqe2ee_pump_run() moves bytes both ways until something needs the caller; everything
 * pending stays in the pump for the next call.  No policy here: the caller decides what
 * a status means, handles every record that is not application data, and rekeys. */

typedef struct pqe2ee_pump pqe2ee_pump;

/* Bounds of pqe2ee_pump_new's buffer_size. */
#define PQE2EE_PUMP_BUFFER_MIN 4096
#define PQE2EE_PUMP_BUFFER_MAX 16777216 /* 16 MiB */

enum pqe2ee_pump_status {
    PQE2EE_PUMP_DONE = 0,        /* no direction left to read and every output flushed */
    PQE2EE_PUMP_CONTROL = 1,     /* the next session record is not application data; it is
                                  * left unread (control_len bytes), all plaintext before it
                                  * has been written to the plain fd */
    PQE2EE_PUMP_PLAIN_EOF = 2,   /* the plain fd reached end of stream (all of it sealed) */
    PQE2EE_PUMP_SESSION_EOF = 3, /* the session fd ended; no complete record is left */
    PQE2EE_PUMP_SEND_LIMIT = 4,  /* the send sequence number reached its limit */
    PQE2EE_PUMP_RECV_LIMIT = 5,  /* the receive sequence number reached its limit: the
                                  * next whole record is left unread (control_len bytes)
                                  * for the caller to open and judge */
    PQE2EE_PUMP_TIMEOUT = 6,     /* timeout_ms passed without a byte moving either way */
    PQE2EE_PUMP_WAKE = 7,        /* the wake fd became readable (not drained) */
    PQE2EE_PUMP_ERR_OS = 8,      /* a read, write or poll failed: os_error, side */
    PQE2EE_PUMP_ERR_TAG = 9,     /* a record failed authentication (plaintext wiped) */
    PQE2EE_PUMP_ERR_LENGTH = 10, /* a record length outside MIN_FRAME .. max_frame (wiped) */
    PQE2EE_PUMP_ERR_STATE = 11,  /* bad arguments, a missing key, or OpenSSL failed */
    PQE2EE_PUMP_ERR_FULL = 12,   /* pqe2ee_pump_push: no room for the bytes */
    PQE2EE_PUMP_ERR_TYPE = 13    /* the next session byte does not start an encrypted
                                  * record: fatal at that byte, no body is waited for
                                  * (plaintext wiped) */
};

/* run() flags: which inputs to read, and which fds to half-close (shutdown SHUT_WR,
 * once) as soon as their pending output is flushed. */
enum pqe2ee_pump_flags {
    PQE2EE_PUMP_READ_PLAIN = 1,
    PQE2EE_PUMP_READ_SESSION = 2,
    PQE2EE_PUMP_SHUT_PLAIN = 4,
    PQE2EE_PUMP_SHUT_SESSION = 8
};

/* Buffers of pqe2ee_pump_push / pqe2ee_pump_take. */
enum pqe2ee_pump_buffer {
    PQE2EE_PUMP_SESSION_IN = 1,  /* session bytes not yet opened */
    PQE2EE_PUMP_SESSION_OUT = 2, /* records not yet written to the session fd */
    PQE2EE_PUMP_PLAIN_OUT = 3    /* plaintext not yet written to the plain fd */
};

/* Figures of one run() call.  Counts are for this call; seqs and pending sizes are the
 * state after it. */
struct pqe2ee_pump_result {
    int status;
    int os_error;                     /* errno, for ERR_OS */
    int side;                         /* ERR_OS: 0 plain fd, 1 session fd, 2 poll */
    unsigned long long plain_read;    /* plaintext read from the plain fd and sealed */
    unsigned long long plain_written; /* plaintext written to the plain fd */
    unsigned long long session_read;  /* session bytes read */
    unsigned long long session_written;
    unsigned long long sealed_records;
    unsigned long long opened_records; /* application-data records opened */
    unsigned long long opened_bytes;   /* their content bytes */
    unsigned long long send_seq;       /* the next sequence numbers */
    unsigned long long recv_seq;
    size_t control_len;                /* CONTROL: bytes of the waiting frame */
    size_t pending_plain;              /* bytes in PLAIN_OUT */
    size_t pending_session;            /* bytes in SESSION_OUT */
    size_t buffered_session;           /* bytes in SESSION_IN */
};

/* A pump for cipher, sealing records of record_size content bytes (1 ..
 * PQE2EE_RECORD_MAX_PLAINTEXT) and accepting frames of at most max_frame payload bytes
 * (PQE2EE_RECORD_MIN_FRAME .. PQE2EE_RECORD_MAX_FRAME); buffer_size bounds each buffer
 * (PQE2EE_PUMP_BUFFER_MIN .. _MAX).  NULL on bad arguments or no memory. */
pqe2ee_pump *pqe2ee_pump_new(int cipher, size_t record_size, size_t max_frame,
                             size_t buffer_size);

/* Pad every record the pump seals as (pad_mode, pad_block) say (records.h's PQE2EE_PAD_*,
 * docs/protocol.md §10; the default is PQE2EE_PAD_NONE).  Only before the first record
 * is sealed or pushed (SESSION_OUT empty); it may grow that buffer so that the caller's
 * padded records and one full padded record always fit.  ERR_STATE on a bad policy. */
int pqe2ee_pump_set_padding(pqe2ee_pump *pump, int pad_mode, size_t pad_block);

/* Wipe every buffer and key, then free.  NULL is accepted. */
void pqe2ee_pump_free(pqe2ee_pump *pump);

/* Install one direction's key (send = 1: sealing, 0: opening): 32-byte key, 12-byte IV,
 * the next sequence number, and the sequence number at which run() returns
 * SEND_LIMIT / RECV_LIMIT.  The previous key of that direction is wiped. */
int pqe2ee_pump_set_key(pqe2ee_pump *pump, int send, const unsigned char *key, size_t key_len,
                        const unsigned char *iv, size_t iv_len, unsigned long long seq,
                        unsigned long long limit);

/* Append len bytes to a buffer (session input the caller read past the handshake,
 * records the caller sealed, plaintext the caller opened).  ERR_FULL when they do not fit
 * (nothing is appended then). */
int pqe2ee_pump_push(pqe2ee_pump *pump, int which, const unsigned char *data, size_t len);

/* Move up to out_len bytes from the front of a buffer into out; *taken says how many. */
int pqe2ee_pump_take(pqe2ee_pump *pump, int which, unsigned char *out, size_t out_len,
                     size_t *taken);

/* Pump between plain_fd and session_fd (both non-blocking sockets) until a status above.
 * wake_fd (or -1) is only polled for readability.  timeout_ms < 0: no timeout. */
int pqe2ee_pump_run(pqe2ee_pump *pump, int plain_fd, int session_fd, int wake_fd,
                    int flags, int timeout_ms, struct pqe2ee_pump_result *result);
