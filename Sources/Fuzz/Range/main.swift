import EphemeraFuzzing

// libFuzzer's entry point for the Range parser (`script/fuzz`); a plain build makes a program that does nothing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRange(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    FuzzTargets.all["Range"]!(Array(UnsafeRawBufferPointer(start: start, count: count)))
    return 0
}
