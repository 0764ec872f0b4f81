import EphemeraFuzzing

// libFuzzer's entry point for the Multipart parser (`script/fuzz`); a plain build makes a program that does nothing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultipart(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    FuzzTargets.all["Multipart"]!(Array(UnsafeRawBufferPointer(start: start, count: count)))
    return 0
}
