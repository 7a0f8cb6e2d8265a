import ArgumentParser
import Foundation
import KeyManagement
import Storage
import Vault

/// The one place vault errors become exit codes and messages (documented in `strongroom --help`).
enum CLIError {
    static let problemsFound: Int32 = 1
    static let refused: Int32 = 65
    static let notFound: Int32 = 66
    static let auditUnavailable: Int32 = 69
    static let internalError: Int32 = 70
    static let cannotCreate: Int32 = 73
    static let ioError: Int32 = 74
    static let busy: Int32 = 75
    static let keyProblem: Int32 = 77
    static let config: Int32 = 78

    /// Prints the message and returns the exit code to use.
    static func map(_ error: Error) -> Error {
        if error is ExitCode || error is CleanExit { return error }
        if let vault = error as? VaultError {
            Output.error(message(vault))
            return ExitCode(code(vault))
        }
        if let e = error as? KeyManagementError { return map(VaultError.key(e)) }
        if let e = error as? StorageError { return map(VaultError.storage(e)) }
        if let e = error as? S3Error { return map(VaultError.storage(.objectStore(e.description))) }
        if let e = error as? FileOpsError { return map(VaultError.storage(.io(operation: e.operation, path: e.path, errno: e.errno))) }
        if let message = error as? Message {
            Output.error(message.text)
            return ExitCode(message.code)
        }
        return error  // ArgumentParser's own errors print usage and exit 64.
    }

    /// What the operator reads. A full disk is named as such first: the file named after it
    /// is where it was noticed, not what is wrong.
    static func message(_ error: VaultError) -> String {
        if case .storage(.outOfSpace) = error { return error.description }  // says so already
        if error.isOutOfSpace { return "the disk holding the store is full, so nothing was stored; free space and try again (\(error))" }
        return error.description
    }

    static func code(_ error: VaultError) -> Int32 {
        switch error {
        case .refused, .unknownKind, .invalidArgument, .conflict, .cannotRedact, .linkUnusable, .noPreview, .transferRefused: return refused
        case .notFound: return notFound
        case .backup: return problemsFound
        case .forbidden, .stepUpRequired: return keyProblem
        case .signIn: return refused
        case .storeExists: return cannotCreate
        case .storeMissing, .storeUnsafe, .misconfigured, .needsMasterKey: return config
        case .busy: return busy
        case .sniffer: return internalError
        case .key(let k):
            switch k {
            case .io, .unavailable: return ioError
            case .alreadyExists, .unsafeOutput: return cannotCreate
            case .cryptoUnavailable, .secureMemoryUnavailable: return internalError
            default: return keyProblem
            }
        case .storage(let s):
            switch s {
            case .blobDamaged, .blobMissing: return problemsFound
            case .recordNotFound: return notFound
            case .invalidIdentifier: return refused
            case .io: return ioError
            case .database: return ioError
            case .outOfSpace: return ioError
            case .auditUnavailable, .auditRewritten: return auditUnavailable
            case .unsupportedFormat: return config
            case .userExists: return cannotCreate
            case .userNotFound, .lifecycleNotFound: return notFound
            case .recordsHeld, .lifecycleConflict: return refused
            case .kekDestroyed: return keyProblem
            case .recordsMoved: return busy
            case .objectStore: return ioError
            case .databaseUnavailable: return ioError
            }
        }
    }

    /// A message with an exit code, for failures the CLI itself detects.
    struct Message: Error {
        var text: String
        var code: Int32
    }
}
