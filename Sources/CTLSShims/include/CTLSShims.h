#ifndef CUSTOMS_CTLSSHIMS_H
#define CUSTOMS_CTLSSHIMS_H
// OpenSSL macros Swift cannot import (SSL_set_tlsext_host_name and friends). Owned by Interception.
#include <openssl/ssl.h>
int customs_tls_shims_version(void);
#endif
