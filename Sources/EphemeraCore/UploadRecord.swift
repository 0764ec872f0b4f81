/// An upload waiting to be processed: the received file (in the media store's incoming area) and the plan
/// made from probing it. Kept until every segment made from it is live or failed.
public struct UploadRecord: Sendable, Hashable {
    public var id: String
    public var authorID: String
    public var sourceFile: String
    /// The processing plan, JSON encoded by the media layer.
    public var plan: String
    public var createdAt: Instant

    public init(id: String, authorID: String, sourceFile: String, plan: String, createdAt: Instant) {
        self.id = id
        self.authorID = authorID
        self.sourceFile = sourceFile
        self.plan = plan
        self.createdAt = createdAt
    }
}
