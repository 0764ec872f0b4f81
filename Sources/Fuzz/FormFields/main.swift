import EphemeraFuzzing

// libFuzzer's entry point for the FormFields parser (`script/fuzz`); a plain build makes a program that does nothing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFormFields(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    FuzzTargets.all["FormFields"]!(Array(UnsafeRawBufferPointer(start: start, count: count)))
    return 0
}
