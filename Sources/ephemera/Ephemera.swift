import ArgumentParser
import EphemeraApp
@main struct Ephemera: ParsableCommand { func run() {} }
