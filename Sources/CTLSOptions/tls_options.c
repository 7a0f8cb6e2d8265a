#include "tls_options.h"

// swift-nio-ssl links BoringSSL into the binary with every symbol prefixed `CNIOBoringSSL_`
// and does not export its C module, so the one function needed is declared here exactly as
// BoringSSL's ssl.h declares it: uint32_t SSL_CTX_set_options(SSL_CTX *ctx, uint32_t options).
// It resolves when the executable links swift-nio-ssl.
extern uint32_t CNIOBoringSSL_SSL_CTX_set_options(void *ctx, uint32_t options);

uint32_t strongroom_tls_prefer_server_cipher_order(void *ssl_ctx) {
    return CNIOBoringSSL_SSL_CTX_set_options(ssl_ctx, STRONGROOM_SSL_OP_CIPHER_SERVER_PREFERENCE);
}
