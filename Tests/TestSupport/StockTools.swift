// Stock tools (installed by `Scripts/setup.sh --test`) that check Strongroom's files the way a
// recipient or an auditor would: age, minisign, exiftool, pdftotext, Python's zipfile.
import Foundation

public struct ToolRun {
    public var status: Int32
    public var stdout: Data
    public var stderr: String
    public var text: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs `tool` (a path, or a name looked up on PATH) and waits for it.
public func runTool(_ tool: String, _ arguments: [String]) throws -> ToolRun {
    let process = Process()
    if tool.hasPrefix("/") {
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
    } else {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
    }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read stderr on another thread, so neither pipe can fill and stall the tool.
    let box = DataBox()
    let finished = DispatchSemaphore(value: 0)
    Thread {
        box.data = err.fileHandleForReading.readDataToEndOfFile()
        finished.signal()
    }.start()
    let output = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    finished.wait()
    return ToolRun(status: process.terminationStatus, stdout: output, stderr: String(decoding: box.data, as: UTF8.self))
}

private final class DataBox: @unchecked Sendable { var data = Data() }

public enum StockAge {
    /// A fresh identity from age-keygen in `folder`; returns the key file and its `age1…` recipient.
    public static func keygen(in folder: String, name: String) throws -> (file: String, recipient: String) {
        let file = folder + "/" + name + ".txt"
        let run = try runTool("/usr/bin/age-keygen", ["-o", file])
        guard run.status == 0 else { throw ToolError(run.stderr) }
        let text = try String(contentsOfFile: file, encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("# public key: ") }) else { throw ToolError("no public key line") }
        return (file, String(line.dropFirst("# public key: ".count)))
    }

    /// `age -d -i IDENTITY FILE`.
    public static func decrypt(file: String, identity: String) throws -> ToolRun {
        try runTool("/usr/bin/age", ["-d", "-i", identity, file])
    }

    /// `age -d` reads a passphrase from the terminal only: a pseudo-terminal (Python's pty) types it.
    public static func decrypt(file: String, passphrase: String) throws -> ToolRun {
        let output = file + ".out-" + UUID().uuidString
        let script = """
            import os, pty, sys, time
            pid, fd = pty.fork()
            if pid == 0:
                os.execv("/usr/bin/age", ["age", "-d", "-o", sys.argv[2], sys.argv[1]])
            seen = b""
            while b"passphrase" not in seen.lower():
                try:
                    chunk = os.read(fd, 1024)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            os.write(fd, sys.argv[3].encode() + b"\\n")
            while True:
                try:
                    if not os.read(fd, 1024):
                        break
                except OSError:
                    break
            _, status = os.waitpid(pid, 0)
            sys.exit(os.waitstatus_to_exitcode(status))
            """
        var run = try runTool("/usr/bin/python3", ["-c", script, file, output, passphrase])
        run.stdout = (try? Data(contentsOf: URL(fileURLWithPath: output))) ?? Data()
        try? FileManager.default.removeItem(atPath: output)
        return run
    }
}

/// Unpacks a ZIP with Python's zipfile (not the library that wrote it) into `folder`.
public func unzipWithPython(_ zip: String, into folder: String) throws -> ToolRun {
    try runTool("/usr/bin/python3", ["-m", "zipfile", "-e", zip, folder])
}

public struct ToolError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
