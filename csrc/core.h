/* pqe2ee compiled core: build facts.  This header is read by cffi's cdef, so it
 * holds plain declarations only (no preprocessor, no OpenSSL types). */

/* The package version this core was built from; _binding.py refuses a mismatch. */
const char *pqe2ee_core_version(void);

/* The libcrypto this core runs against, as OpenSSL_version(OPENSSL_VERSION) says. */
const char *pqe2ee_libcrypto_version(void);

/* 1 when the linked libcrypto offers the AEAD, else 0 (asked at run time). */
int pqe2ee_has_chacha20_poly1305(void);
int pqe2ee_has_aes_256_gcm(void);
