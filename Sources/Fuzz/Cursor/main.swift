import EphemeraFuzzing

// libFuzzer's entry point for the Cursor parser (`script/fuzz`); a plain build makes a program that does nothing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCursor(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    FuzzTargets.all["Cursor"]!(Array(UnsafeRawBufferPointer(start: start, count: count)))
    return 0
}
