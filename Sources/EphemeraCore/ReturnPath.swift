/// Where a browser may be sent back to after signing in (`next=`): only a path on this site.
///
/// A browser strips tabs and line breaks from a URL and reads a backslash as a slash before it resolves a
/// `Location`, so `/\t/evil.example` or `/\evil.example` would become `//evil.example`, another site. A path
/// passes only if it starts with one `/` and holds nothing but printable ASCII other than `\`; anything else
/// sends the browser to the home page.
public enum ReturnPath {
    public static let home = "/"

    /// `path` when it is safe to redirect to, otherwise `home`.
    public static func safe(_ path: String?) -> String {
        guard let path, !path.isEmpty, path.utf8.count <= 2048 else { return home }
        let bytes = Array(path.utf8)
        guard bytes[0] == UInt8(ascii: "/") else { return home }
        if bytes.count > 1, bytes[1] == UInt8(ascii: "/") { return home }
        // Printable ASCII only (0x21…0x7E: no space, no control characters, no DEL, nothing beyond ASCII),
        // and no backslash anywhere.
        guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }) else { return home }
        return path
    }
}
