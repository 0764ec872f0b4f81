import EphemeraFuzzing

// libFuzzer's entry point for the DurationSpec parser (`script/fuzz`); a plain build makes a program that does nothing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDurationSpec(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    FuzzTargets.all["DurationSpec"]!(Array(UnsafeRawBufferPointer(start: start, count: count)))
    return 0
}
