/// Says what a file is by looking inside it (ffprobe in EphemeraMedia), never by its name or a client's word.
public protocol MediaProber: Sendable {
    func probe(path: String) async throws -> MediaProbe
}

/// Where a received upload, and the sound track sent with it, wait in this node's private scratch area until
/// processing has made their segments. Names are upload ids (a sound track: `UploadInboxNames.sound`).
public protocol UploadInbox: Sendable {
    /// The local path of an incoming file.
    func incomingPath(_ name: String) -> String
    /// fsyncs the file and its folder, before the row that points to it commits.
    func makeDurable(incoming name: String) async throws
    /// The first `length` bytes (to judge an image by its declared size before any decoder sees it).
    func prefix(ofIncoming name: String, length: Int) async throws -> [UInt8]
    func removeIncoming(_ name: String)
}

/// The names of files in the `UploadInbox`.
public enum UploadInboxNames {
    /// The sound track sent with upload `uploadID`.
    public static func sound(_ uploadID: String) -> String { uploadID + soundSuffix }

    public static let soundSuffix = ".sound"

    /// The upload an incoming file belongs to.
    public static func upload(ofIncoming name: String) -> String {
        name.hasSuffix(soundSuffix) ? String(name.dropLast(soundSuffix.count)) : name
    }
}
