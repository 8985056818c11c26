#ifndef CUSTOMS_CTLSSHIMS_H
#define CUSTOMS_CTLSSHIMS_H
// OpenSSL macros and variadic/stack helpers Swift cannot import. Owned by Interception.
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/evp.h>
#include <openssl/bio.h>

int customs_tls_shims_version(void);

// Key generation (EVP_EC_gen / EVP_RSA_gen are variadic macros).
EVP_PKEY *customs_keygen_ec_p256(void);
EVP_PKEY *customs_keygen_rsa(unsigned int bits);

// Adds one X509v3 extension given in openssl.cnf syntax, with issuer/subject set for AKI/SKI.
int customs_x509_add_ext(X509 *cert, X509 *issuer, int nid, const char *value);

// Names in the subjectAltName extension as a malloc'd "DNS:a\nIP:1.2.3.4\n" string (free with
// customs_free); NULL when there is no SAN extension.
char *customs_x509_copy_san_names(const X509 *cert);
void customs_free(void *ptr);

// STACK_OF(X509) (sk_X509_* are macros / static inlines).
STACK_OF(X509) *customs_x509_stack_new(void);
int customs_x509_stack_push_ref(STACK_OF(X509) *stack, X509 *cert);
void customs_x509_stack_free(STACK_OF(X509) *stack);

// SSL / SSL_CTX macros.
int customs_ssl_set_sni(SSL *ssl, const char *name);
int customs_ssl_ctx_set_proto_range(SSL_CTX *ctx, int min_version, int max_version);
void customs_ssl_ctx_use_external_client_cache(SSL_CTX *ctx);
void customs_ssl_ctx_set_release_buffers(SSL_CTX *ctx);
// Server side ALPN: select http/1.1 when the client offers it, otherwise no ALPN.
void customs_ssl_ctx_select_http11(SSL_CTX *ctx);
int customs_ssl_session_reused(SSL *ssl);
// Memory BIO whose empty read means "retry" rather than EOF.
BIO *customs_bio_new_retrying_mem(void);
// Flags for X509_NAME_print_ex in RFC 2253 form (a composite macro).
unsigned long customs_xn_flag_rfc2253(void);

#endif
