#include "errors.h"
#include "mlnetseg_native.h"
#include <cstdlib>

namespace {
thread_local std::string last_error;
}

namespace mls {
void set_error(const char* message) { last_error = message ? message : ""; }
void set_error(const std::string& message) { last_error = message; }
void clear_error() { last_error.clear(); }
}  // namespace mls

extern "C" {
const char* mls_last_error(void) { return last_error.c_str(); }
void mls_free(void* p) { std::free(p); }
}
