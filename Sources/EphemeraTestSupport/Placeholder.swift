import HummingbirdTesting
enum P5 {}
