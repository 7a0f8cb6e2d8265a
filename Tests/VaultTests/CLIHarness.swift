import Foundation
import TestSupport
import XCTest

/// Runs the built `strongroom` binary as a person or a script would.
struct CLI {
    struct Result {
        var status: Int32
        var killedBySignal: Bool
        var stdout: String
        var stderr: String
        var stdoutData: Data
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
    }

    let store: String
    var environment: [String: String] = [:]

    static var binary: URL { BuiltBinary.strongroom }

    func process(_ args: [String], extraEnvironment: [String: String] = [:]) -> Process {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["STRONGROOM_STORE"] = store
        env["STRONGROOM_ACTOR"] = "test:cli"
        for (k, v) in environment.merging(extraEnvironment, uniquingKeysWith: { $1 }) { env[k] = v }
        p.environment = env
        return p
    }

    @discardableResult
    func run(_ args: [String], stdin: String? = nil, env: [String: String] = [:]) throws -> Result {
        let p = process(args, extraEnvironment: env)
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, killedBySignal: p.terminationReason == .uncaughtSignal,
                      stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self), stdoutData: o)
    }
}

func temporaryFolder(_ prefix: String) -> String {
    let path = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
