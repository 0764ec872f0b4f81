/// Who may read `GET /metrics` (`--metrics-allow CIDR,CIDR…`, API.md "Operations"): by default this machine
/// only. Metrics name routes, queue depths and timings, nothing of anyone's stories, but they are the
/// operator's: no token, only an address rule. The address is the client's as `--trusted-proxies` finds it.
public struct MetricsAccess: Sendable, Hashable {
    public let blocks: [AddressBlock]

    public init(_ blocks: [AddressBlock]) { self.blocks = blocks }

    /// 127.0.0.0/8 and ::1.
    public static let loopback = MetricsAccess([AddressBlock("127.0.0.0/8")!, AddressBlock("::1/128")!])

    public func allows(_ address: String?) -> Bool { blocks.containsAddress(address) }
}
