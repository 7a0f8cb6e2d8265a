import Foundation
import NIOCore
import XCTest
@testable import StrongroomServer

/// Which client a request is counted against behind a proxy the operator trusts, and that a
/// client cannot choose it: only the proxies' own additions to X-Forwarded-For are read.
final class ForwardedClientTests: XCTestCase {
    let proxy = try! SocketAddress(ipAddress: "10.0.0.3", port: 40_000)
    let stranger = try! SocketAddress(ipAddress: "198.51.100.20", port: 40_000)

    func forwarded(_ trusted: String) throws -> ForwardedClient {
        ForwardedClient(trustedProxies: try IPNetwork.list(trusted))
    }

    func testTheAddressTheProxyAppendedIsTheClient() throws {
        let f = try forwarded("10.0.0.3")
        XCTAssertEqual(f.source(peer: proxy, forwardedFor: ["203.0.113.9"]), "203.0.113.9")
    }

    func testWhatTheClientWroteBeforeTheProxyIsIgnored() throws {
        let f = try forwarded("10.0.0.0/8")
        // The client sent "X-Forwarded-For: 10.0.0.9, 192.0.2.1" hoping to be someone else.
        XCTAssertEqual(f.source(peer: proxy, forwardedFor: ["10.0.0.9, 192.0.2.1, 203.0.113.9"]), "203.0.113.9")
        XCTAssertEqual(f.source(peer: proxy, forwardedFor: ["192.0.2.1", "203.0.113.9"]), "203.0.113.9", "over two header lines")
    }

    func testSeveralTrustedProxiesInARowAreSkipped() throws {
        let f = try forwarded("10.0.0.0/8, 172.16.0.0/12")
        XCTAssertEqual(f.source(peer: proxy, forwardedFor: ["192.0.2.1, 203.0.113.9, 172.16.4.4, 10.1.2.3"]), "203.0.113.9")
        XCTAssertEqual(f.source(peer: proxy, forwardedFor: ["10.9.9.9, 10.1.2.3"]), "10.9.9.9", "all proxies: the farthest")
    }

    func testAHeaderFromAnyoneElseIsIgnored() throws {
        let f = try forwarded("10.0.0.3")
        XCTAssertNil(f.source(peer: stranger, forwardedFor: ["203.0.113.9"]), "the peer's own address stands")
        XCTAssertNil(try forwarded("").source(peer: proxy, forwardedFor: ["203.0.113.9"]), "no trusted proxies: never read")
    }

    func testABrokenEntryCountsAgainstTheProxyThatPassedIt() throws {
        let f = try forwarded("10.0.0.0/8")
        XCTAssertEqual(f.source(peer: proxy, forwardedFor: ["203.0.113.9, evil.example"]), "10.0.0.3")
        XCTAssertEqual(f.source(peer: proxy, forwardedFor: ["203.0.113.9, 10.0.0.7, unknown"]), "10.0.0.3")
        XCTAssertEqual(f.source(peer: proxy, forwardedFor: ["203.0.113.9, , 10.0.0.7"]), "10.0.0.7", "an empty entry stops at the hop that wrote it")
        XCTAssertNil(f.source(peer: proxy, forwardedFor: []), "no header: the proxy's own request, from its address")
        XCTAssertEqual(f.source(peer: proxy, forwardedFor: [String(repeating: "9", count: 10_000)]), "10.0.0.3")
    }

    func testThePortsAndZonesProxiesWriteAreDropped() throws {
        let f = try forwarded("10.0.0.0/8")
        XCTAssertEqual(f.source(peer: proxy, forwardedFor: ["203.0.113.9:5555"]), "203.0.113.9")
        XCTAssertEqual(f.source(peer: proxy, forwardedFor: ["[2001:db8:1:2::7]:443"]), "2001:db8:1:2::/64")
        XCTAssertEqual(f.source(peer: proxy, forwardedFor: ["fe80::1%eth0"]), "fe80:0:0:0::/64")
        for broken in ["203.0.113.9:99999", "203.0.113.9:", "[2001:db8::1]x", "[2001:db8::1", "203.0.113.9:80:80", "[203.0.113.9]:x"] {
            XCTAssertEqual(f.source(peer: proxy, forwardedFor: [broken]), "10.0.0.3", broken)
        }
    }

    func testAnIPv6ClientIsCountedByItsSlash64() throws {
        let f = try forwarded("10.0.0.3")
        XCTAssertEqual(f.source(peer: proxy, forwardedFor: ["2001:db8:1:2:aaaa::1"]), "2001:db8:1:2::/64")
        XCTAssertEqual(f.source(peer: proxy, forwardedFor: ["[2001:db8:1:2:bbbb::9]"]), "2001:db8:1:2::/64")
        XCTAssertEqual(f.source(peer: proxy, forwardedFor: ["::ffff:203.0.113.9"]), "203.0.113.9", "IPv4 mapped into IPv6")
        let v6proxy = try SocketAddress(ipAddress: "fd00::3", port: 1)
        XCTAssertEqual(try forwarded("fd00::/8").source(peer: v6proxy, forwardedFor: ["203.0.113.9"]), "203.0.113.9")
    }

    func testNetworksMatchOnTheirPrefixOnly() throws {
        let net = try XCTUnwrap(IPNetwork("10.128.0.0/9"))
        XCTAssertTrue(net.contains(try XCTUnwrap(IPAddress(text: "10.200.1.1"))))
        XCTAssertFalse(net.contains(try XCTUnwrap(IPAddress(text: "10.127.255.255"))))
        XCTAssertFalse(net.contains(try XCTUnwrap(IPAddress(text: "fd00::1"))), "another family")
        XCTAssertEqual(IPNetwork("10.0.0.5")?.description, "10.0.0.5/32")
        func inside(_ network: String, _ address: String) throws -> Bool {
            try XCTUnwrap(IPNetwork(network), network).contains(try XCTUnwrap(IPAddress(text: address), address))
        }
        // Each prefix at its edge: the last address in, the first out.
        XCTAssertTrue(try inside("0.0.0.0/1", "127.255.255.255")); XCTAssertFalse(try inside("0.0.0.0/1", "128.0.0.0"))
        XCTAssertTrue(try inside("254.0.0.0/7", "255.255.255.255")); XCTAssertFalse(try inside("254.0.0.0/7", "253.255.255.255"))
        XCTAssertTrue(try inside("10.0.0.0/8", "10.255.255.255")); XCTAssertFalse(try inside("10.0.0.0/8", "11.0.0.0"))
        XCTAssertTrue(try inside("10.0.0.2/31", "10.0.0.3")); XCTAssertFalse(try inside("10.0.0.2/31", "10.0.0.4"))
        XCTAssertTrue(try inside("10.0.0.3/32", "10.0.0.3")); XCTAssertFalse(try inside("10.0.0.3/32", "10.0.0.2"))
        XCTAssertTrue(try inside("2001:db8::/127", "2001:db8::1")); XCTAssertFalse(try inside("2001:db8::/127", "2001:db8::2"))
        XCTAssertTrue(try inside("2001:db8::5/128", "2001:db8::5")); XCTAssertFalse(try inside("2001:db8::5/128", "2001:db8::4"))
        XCTAssertTrue(try inside("fd00::/8", "fdff:ffff::1")); XCTAssertFalse(try inside("fd00::/8", "fe00::"))
        XCTAssertTrue(try inside("10.0.0.0/8", "::ffff:10.1.2.3"), "an IPv4-mapped address is its IPv4 one")
        for bad in ["0.0.0.0/0", "::/0", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0", "proxy.example", "10.0.0.0/8/8", "fd00::/129", "/8"] {
            XCTAssertNil(IPNetwork(bad), bad)
        }
    }

    func testAMalformedSettingIsRefusedNamingTheEntry() async throws {
        do {
            _ = try await ServerConfiguration.load(flags: [ServerConfiguration.Key.trustedProxies: "10.0.0.0/8, proxy.example"],
                                                  configFile: nil, environment: [:])
            XCTFail("accepted")
        } catch let error as ServerError {
            XCTAssertTrue(error.description.contains("'proxy.example' is not an address or network"), error.description)
        }
        let loaded = try await ServerConfiguration.load(flags: [:], configFile: nil, environment: ["STRONGROOM_TRUSTED_PROXIES": "127.0.0.1"])
        XCTAssertEqual(try loaded.trustedProxyNetworks(), [IPNetwork("127.0.0.1")!])
    }
}
