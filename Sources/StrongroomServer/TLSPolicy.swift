import CTLSOptions
import Foundation
import NIOSSL

/// What HTTPS offers (README, "The HTTP service"): TLS 1.3, or TLS 1.2 with an ECDHE key
/// exchange and an AEAD suite, chosen by the server's order. Nothing older, nothing without
/// forward secrecy, no CBC: a recording of today's traffic stays closed even if the server's
/// key leaks later, and no padding-oracle family applies.
enum TLSPolicy {
    /// The TLS 1.2 suites, most preferred first: AES-GCM (hardware on every server this runs
    /// on) before ChaCha20-Poly1305, 128-bit before 256-bit as the common recommendation has it.
    /// TLS 1.3's suites are BoringSSL's fixed three, all AEAD, in its own server order.
    static let tls12Suites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// Two years, without `includeSubDomains` or `preload`: the school's other hosts under the
    /// same name are not ours to commit to HTTPS.
    static let strictTransportSecurity = "max-age=63072000"

    /// The server's TLS settings for the PEM certificate chain and key at these paths.
    static func configuration(certificateChain: String, privateKey: String) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(certificateChain).map { NIOSSLCertificateSource.certificate($0) }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: privateKey, format: .pem)))
        tls.minimumTLSVersion = .tlsv12
        tls.maximumTLSVersion = .tlsv13
        tls.cipherSuiteValues = tls12Suites
        return tls
    }

    /// The context every connection shares, set to choose suites by the server's order.
    /// swift-nio-ssl has no setting for that, so the context's `SSL_CTX` is reached through
    /// reflection and given BoringSSL's option directly (`CTLSOptions`). If this build's
    /// swift-nio-ssl no longer holds it where expected, HTTPS is refused rather than served
    /// in the client's order without anyone knowing.
    static func context(_ configuration: TLSConfiguration) throws -> NIOSSLContext {
        let context = try NIOSSLContext(configuration: configuration)
        guard let sslContext = Mirror(reflecting: context).children.first(where: { $0.label == "sslContext" })?.value as? OpaquePointer else {
            throw ServerError.configuration(
                "this build's TLS library (swift-nio-ssl) does not let strongroom set the server's cipher order; refusing to serve HTTPS without it")
        }
        let options = strongroom_tls_prefer_server_cipher_order(UnsafeMutableRawPointer(sslContext))
        guard options & STRONGROOM_SSL_OP_CIPHER_SERVER_PREFERENCE != 0 else {
            throw ServerError.configuration("the TLS library did not take the server cipher order; refusing to serve HTTPS without it")
        }
        return context
    }
}
