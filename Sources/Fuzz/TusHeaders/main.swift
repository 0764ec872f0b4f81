import EphemeraFuzzing

// libFuzzer's entry point for the TusHeaders parser (`script/fuzz`); a plain build makes a program that does nothing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTusHeaders(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    FuzzTargets.all["TusHeaders"]!(Array(UnsafeRawBufferPointer(start: start, count: count)))
    return 0
}
