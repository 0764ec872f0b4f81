import Hummingbird
import HummingbirdBcrypt
import MultipartKit
enum P4 {}
