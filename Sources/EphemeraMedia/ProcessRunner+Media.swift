import EphemeraProcess

extension ProcessRunner.Failure {
    /// What the author reads in `failureReason` when ffmpeg failed: no paths, no internals.
    public var authorFacingReason: String {
        timedOut
            ? "Processing took too long and was stopped. Try a shorter or smaller video."
            : "The media could not be converted; the file may be damaged. Export it again and post it anew."
    }
}
