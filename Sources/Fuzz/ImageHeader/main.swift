import EphemeraFuzzing

// libFuzzer's entry point for the ImageHeader parser (`script/fuzz`); a plain build makes a program that does nothing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImageHeader(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    FuzzTargets.all["ImageHeader"]!(Array(UnsafeRawBufferPointer(start: start, count: count)))
    return 0
}
