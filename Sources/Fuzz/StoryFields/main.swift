import EphemeraFuzzing

// libFuzzer's entry point for the StoryFields parser (`script/fuzz`); a plain build makes a program that does nothing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStoryFields(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    FuzzTargets.all["StoryFields"]!(Array(UnsafeRawBufferPointer(start: start, count: count)))
    return 0
}
