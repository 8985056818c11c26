#include "CTLSShims.h"
#include <string.h>
#include <stdlib.h>
#include <openssl/crypto.h>

int customs_tls_shims_version(void) { return 2; }

EVP_PKEY *customs_keygen_ec_p256(void) { return EVP_EC_gen("P-256"); }
EVP_PKEY *customs_keygen_rsa(unsigned int bits) { return EVP_RSA_gen(bits); }

int customs_x509_add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL) return 0;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static int append(char **buf, size_t *len, size_t *cap, const char *prefix, const char *value, size_t vlen) {
    size_t plen = strlen(prefix);
    size_t need = *len + plen + vlen + 2;
    if (need > *cap) {
        size_t ncap = need * 2;
        char *n = realloc(*buf, ncap);
        if (n == NULL) return 0;
        *buf = n;
        *cap = ncap;
    }
    memcpy(*buf + *len, prefix, plen);
    *len += plen;
    memcpy(*buf + *len, value, vlen);
    *len += vlen;
    (*buf)[(*len)++] = '\n';
    (*buf)[*len] = 0;
    return 1;
}

char *customs_x509_copy_san_names(const X509 *cert) {
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (names == NULL) return NULL;
    size_t len = 0, cap = 256;
    char *buf = malloc(cap);
    if (buf == NULL) { GENERAL_NAMES_free(names); return NULL; }
    buf[0] = 0;
    int count = sk_GENERAL_NAME_num(names);
    for (int i = 0; i < count; i++) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
        if (name->type == GEN_DNS) {
            const ASN1_IA5STRING *s = name->d.dNSName;
            if (memchr(s->data, '\n', (size_t)s->length) != NULL) continue;
            if (!append(&buf, &len, &cap, "DNS:", (const char *)s->data, (size_t)s->length)) break;
        } else if (name->type == GEN_IPADD) {
            char *text = OPENSSL_buf2hexstr(name->d.iPAddress->data, name->d.iPAddress->length);
            if (text == NULL) continue;
            int ok = append(&buf, &len, &cap, "IPHEX:", text, strlen(text));
            OPENSSL_free(text);
            if (!ok) break;
        }
    }
    GENERAL_NAMES_free(names);
    return buf;
}

void customs_free(void *ptr) { free(ptr); }

STACK_OF(X509) *customs_x509_stack_new(void) { return sk_X509_new_null(); }
int customs_x509_stack_push_ref(STACK_OF(X509) *stack, X509 *cert) {
    if (!X509_up_ref(cert)) return 0;
    if (sk_X509_push(stack, cert) <= 0) { X509_free(cert); return 0; }
    return 1;
}
void customs_x509_stack_free(STACK_OF(X509) *stack) { sk_X509_pop_free(stack, X509_free); }

int customs_ssl_set_sni(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
int customs_ssl_ctx_set_proto_range(SSL_CTX *ctx, int min_version, int max_version) {
    return SSL_CTX_set_min_proto_version(ctx, min_version) && SSL_CTX_set_max_proto_version(ctx, max_version);
}
void customs_ssl_ctx_use_external_client_cache(SSL_CTX *ctx) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
}
void customs_ssl_ctx_set_release_buffers(SSL_CTX *ctx) { SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS); }

static int select_http11(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                         const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl; (void)arg;
    unsigned int i = 0;
    while (i < inlen) {
        unsigned int n = in[i];
        if (i + 1 + n > inlen) break;
        if (n == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_NOACK;
}
void customs_ssl_ctx_select_http11(SSL_CTX *ctx) { SSL_CTX_set_alpn_select_cb(ctx, select_http11, NULL); }
int customs_ssl_session_reused(SSL *ssl) { return SSL_session_reused(ssl); }

BIO *customs_bio_new_retrying_mem(void) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio != NULL) BIO_set_mem_eof_return(bio, -1);
    return bio;
}

unsigned long customs_xn_flag_rfc2253(void) { return XN_FLAG_RFC2253; }
