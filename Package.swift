// swift-tools-version:6.0
import PackageDescription

// Strongroom: a secure evidence vault for school safeguarding records.
// KeyManagement/ and Storage/ are the two folders a security reviewer reads first;
// everything else lives under Sources/.
/// The console's files, embedded as `PackageResources.<name>` byte arrays.
let consoleResources: [Resource] = [
    "layout.mustache", "sign-in.mustache", "enrol.mustache", "account.mustache", "confirm.mustache", "problem.mustache",
    "error-summary.mustache", "attach.mustache", "attach-ids.mustache", "attach-concern.mustache", "body-map.mustache",
].map { .embedInCode("Console/Templates/" + $0) } + [
    "console.css", "api.js", "webauthn.js", "second-factor.js", "sign-in.js", "enrol.js", "account.js", "confirm.js",
    "attach.js", "attach-upload.js", "attach-words.js", "body-map.js", "body-map-drawing.js", "body-map-outline.js",
].map { .embedInCode("Console/Assets/" + $0) }
    // The reading pages: find a child, chronology, record, my uploads.
    + ["find-child.mustache", "chronology.mustache", "record.mustache", "uploads.mustache"].map { .embedInCode("Console/Templates/" + $0) }
    + ["header.js", "chronology.js", "record.js"].map { .embedInCode("Console/Assets/" + $0) }
    // People, recipients and what waits for each person.
    + ["people.mustache", "people-add.mustache", "people-check.mustache", "people-remove.mustache", "people-approvals.mustache",
       "people-approval.mustache", "recipients.mustache", "recipient-remove.mustache", "waiting.mustache"]
        .map { .embedInCode("Console/Templates/" + $0) }
    + ["stepped-call.js", "people-add.js", "people-remove.js", "people-approval.js", "recipients.js", "waiting-count.js"]
        .map { .embedInCode("Console/Assets/" + $0) }
    // The bundle pages: list and queue, builder, one bundle.
    + ["bundles.mustache", "bundle-new.mustache", "bundle.mustache"].map { .embedInCode("Console/Templates/" + $0) }
    + ["bundle-builder.js", "redaction-boxes.js", "bundle.js"].map { .embedInCode("Console/Assets/" + $0) }
    // The retention desk (due, shred requests, certificates, holds, date of birth) and oversight.
    + ["retention-due.mustache", "shred-requests.mustache", "shred-request.mustache", "certificates.mustache", "certificate.mustache",
       "holds.mustache", "date-of-birth.mustache", "oversight.mustache"].map { .embedInCode("Console/Templates/" + $0) }
    + ["step-up.js", "retention.js", "shred-requests.js", "holds.js", "date-of-birth.js"].map { .embedInCode("Console/Assets/" + $0) }
    // School-to-school transfers: the list, drafting, one transfer, receiving, the directory.
    + ["transfers.mustache", "transfer-new.mustache", "transfer.mustache", "transfer-receive.mustache", "schools.mustache"]
        .map { .embedInCode("Console/Templates/" + $0) }
    + ["transfer-new.js", "transfer.js", "transfer-receive.js", "schools.js"].map { .embedInCode("Console/Assets/" + $0) }

let package = Package(
    name: "strongroom",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "strongroom", targets: ["strongroom"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
    ],
    targets: [
        // C libraries, each wrapped once, thinly, in one Swift file.
        .systemLibrary(
            name: "CSodium", path: "Sources/CSodium", pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(
            name: "CMagic", path: "Sources/CMagic", pkgConfig: "libmagic",
            providers: [.apt(["libmagic-dev"])]),
        .systemLibrary(
            name: "CLibZ", path: "Sources/CLibZ", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CQREncode", path: "Sources/CQREncode", pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"])]),

        .systemLibrary(
            name: "CVips", path: "Sources/CVips", pkgConfig: "vips",
            providers: [.apt(["libvips-dev"])]),
        // libvips' variadic API behind fixed-argument C functions Swift can call.
        .target(name: "CImaging", dependencies: ["CVips"], path: "Sources/CImaging"),

        .target(name: "CProcess", path: "Sources/CProcess"),
        // BoringSSL's SSL_CTX_set_options, as swift-nio-ssl links it: server cipher order.
        .target(name: "CTLSOptions", path: "Sources/CTLSOptions"),
        .target(
            name: "KeyManagement",
            dependencies: ["CSodium", "CProcess", .product(name: "Crypto", package: "swift-crypto")],
            path: "KeyManagement"),
        .target(
            name: "Storage",
            dependencies: [
                "KeyManagement", .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for the one hot loop GRDB's row API makes slow (audit verify).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                // The catalog of a deployment with several nodes (Storage/Postgres).
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Storage"),
        // True redaction: images and PDF pages redrawn from pixels, text terms replaced.
        .target(name: "Redaction", dependencies: ["CImaging", "KeyManagement"], path: "Sources/Redaction"),
        .target(
            name: "Vault",
            dependencies: [
                "KeyManagement", "Storage", "CMagic", "CLibZ", "Redaction", "SignIn",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            path: "Sources/Vault"),
        // The HTTP service on Hummingbird 2: routes, roles, streaming bodies, metrics.
        .target(
            name: "StrongroomServer",
            dependencies: [
                "Vault", "Storage", "KeyManagement", "CTLSOptions", "SignIn", "CQREncode", "CLibZ",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            path: "Sources/StrongroomServer",
            // The web console's templates and assets, compiled into the binary (no resource
            // bundle to lose when the binary moves). Console/ConsoleAssets.swift names each.
            resources: consoleResources),
        .executableTarget(
            name: "strongroom",
            dependencies: [
                "Vault", "Storage", "KeyManagement", "StrongroomServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/strongroom"),
        // Sign-in verification core: TOTP codes and WebAuthn (passkey) ceremonies, no I/O.
        .target(
            name: "SignIn",
            dependencies: ["KeyManagement", .product(name: "Crypto", package: "swift-crypto")],
            path: "Sources/SignIn"),
        // libFuzzer entry for SignIn's parsers (Scripts/fuzz-signin.sh); built normally it
        // replays files given as arguments, so the default build still links it.
        .executableTarget(name: "signin-fuzz", dependencies: ["SignIn"], path: "Sources/signin-fuzz"),
        // Benchmark driver used by Scripts/bench-*.sh (not shipped to users).
        .executableTarget(
            name: "strongroom-bench",
            dependencies: ["Vault", "Storage", "KeyManagement", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Sources/strongroom-bench"),

        .target(
            name: "TestSupport",
            dependencies: [
                "KeyManagement", "Storage", "SignIn", "Vault", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/TestSupport"),
        .testTarget(
            name: "KeyManagementTests", dependencies: ["KeyManagement", "TestSupport"], path: "Tests/KeyManagementTests",
            resources: [.copy("AgeVectors")]),
        .testTarget(
            name: "RedactionTests", dependencies: ["Redaction", "TestSupport"], path: "Tests/RedactionTests", exclude: ["Fixtures"]),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage", "KeyManagement", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Tests/StorageTests", resources: [.copy("Vectors")]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "StrongroomServer", "Vault", "Storage", "KeyManagement", "SignIn", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Tests/ServerTests"),
        .testTarget(
            name: "SignInTests",
            dependencies: ["SignIn", "KeyManagement", "TestSupport", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/SignInTests", resources: [.copy("FuzzCorpus")]),
        .testTarget(
            name: "VaultTests",
            dependencies: ["Vault", "Storage", "KeyManagement", "Redaction", "SignIn", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Tests/VaultTests", resources: [.copy("Samples"), .copy("ActiveContentSamples")]),
    ]
)
