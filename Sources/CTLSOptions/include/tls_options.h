#ifndef STRONGROOM_TLS_OPTIONS_H
#define STRONGROOM_TLS_OPTIONS_H

#include <stdint.h>

/// Makes a BoringSSL `SSL_CTX` (as swift-nio-ssl builds it) choose the TLS 1.2 cipher suite by
/// its own list's order instead of the client's (SSL_OP_CIPHER_SERVER_PREFERENCE). Returns the
/// context's options after the change, for the caller to check.
uint32_t strongroom_tls_prefer_server_cipher_order(void *ssl_ctx);

/// SSL_OP_CIPHER_SERVER_PREFERENCE, as BoringSSL's ssl.h defines it.
#define STRONGROOM_SSL_OP_CIPHER_SERVER_PREFERENCE 0x00400000u

#endif
