#if Server
import XCTest
#endif
