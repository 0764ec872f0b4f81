import PostgresNIO
import SQLiteNIO

/// What the engines report, recognised by their codes (SQLSTATE on PostgreSQL, the extended result code on
/// SQLite), never by the text of a message.
enum DatabaseErrorCode {
    /// Whether `error` is a UNIQUE or PRIMARY KEY violation.
    static func isUniqueViolation(_ error: any Error) -> Bool {
        if let error = error as? PSQLError { return error.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw }
        if let error = error as? SQLiteError {
            switch error.reason {
            case .constraintUniqueFailed, .constraintPrimaryKeyFailed: return true
            default: return false
            }
        }
        return false
    }
}
